# syntax=docker/dockerfile:1
# agent-kanban container image: the `dist` build of the server (the release profile with
# whole-program LTO, stripped) on Debian bookworm-slim.
#
#   docker build -t agent-kanban .
#   docker run -d --name kanban -p 18000:18000 -v kanban-data:/data agent-kanban
#
# The database, its JWT secret file and the scheduled backups live in the /data volume; an optional
# local.toml is read from /etc/agent-kanban (mount it there). Configuration otherwise comes from
# KANBAN__<SECTION>__<KEY> environment variables (docker run -e ...).

# ---- build stage: the toolchain the crate's rust-version names, on the runtime's Debian release
# (so the binary links against the same glibc).
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
# The whole source tree (minus what .dockerignore leaves out): migrations, config/default.toml and
# any embedded assets are compiled into the binary.
COPY . .
# Cache mounts keep the crate registry and target directory between builds; the binary is copied
# out of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --profile dist --locked --bin agent-kanban \
    && install -m 0755 target/dist/agent-kanban /usr/local/bin/agent-kanban

# ---- runtime stage
FROM debian:bookworm-slim

# ca-certificates for outbound TLS, curl for the health check. Versions are not pinned: the
# bookworm archive only keeps the current security release of each package, so a pin would break
# the build at the next update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

# A fixed non-root uid/gid (10001) so volume ownership and Kubernetes' runAsUser/fsGroup agree.
RUN groupadd --system --gid 10001 agent-kanban \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin agent-kanban \
    && mkdir -p /data /etc/agent-kanban \
    && chown 10001:10001 /data

COPY --from=build /usr/local/bin/agent-kanban /usr/local/bin/agent-kanban

# Listen on every interface of the container, keep the database in the volume, log JSON lines.
# KANBAN_CONFIG_DIR is where the server looks for local.toml (Kubernetes mounts its ConfigMap there).
ENV KANBAN__SERVER__HOST=0.0.0.0 \
    KANBAN__DATABASE__PATH=/data/kanban.db \
    KANBAN__LOGGING__FORMAT=json \
    KANBAN_CONFIG_DIR=/etc/agent-kanban

WORKDIR /data
VOLUME /data
USER 10001:10001
EXPOSE 18000

# Ready means: database and writer answer, enough free disk, no shutdown in progress. curl -f
# exits non-zero on a 503, which marks the container unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:18000/health/ready"]

# Exec form: the server is PID 1 and receives SIGTERM itself (graceful shutdown, exit 0).
ENTRYPOINT ["agent-kanban"]
CMD ["serve"]
