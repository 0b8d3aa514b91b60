#!/usr/bin/env bash
# A bounded schemathesis pass against a server this script starts and always stops: every
# operation of /openapi.json, every standard check, a fixed seed and a few examples per operation.
# Any finding fails the run. Usage: .ci/schemathesis.sh [path to the agent-kanban binary]
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=.ci/.venv
BIN=${1:-${CARGO_TARGET_DIR:-target}/debug/agent-kanban}

# The venv lives in the repository (gitignored) and is reused when it already has the pinned version.
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap stop_server EXIT

# Anonymous callers act as pm (no accounts needed) and rate limiting is off: every request comes
# from one address, so the general class would answer 429 to most of the run.
KANBAN__SERVER__PORT=$PORT \
KANBAN__DATABASE__PATH=$WORK/kanban.db \
KANBAN__AUTH__ANONYMOUS_ROLE=pm \
KANBAN__RATE_LIMIT__ENABLED=false \
KANBAN__LOGGING__LEVEL=warn \
    "$BIN" --config-dir "$WORK" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

BASE=http://127.0.0.1:$PORT
# Wait (up to 10 s) until the server answers.
for _ in $(seq 1 100); do
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$BASE/api/status" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/server.log"; exit 1; fi
    sleep 0.1
done

# Every check runs on every operation, except where .ci/schemathesis.toml switches one off for one
# operation, each with the spec rule that makes it inapplicable there.
status=0
"$VENV/bin/schemathesis" --config-file .ci/schemathesis.toml run "$BASE/openapi.json" \
    --seed 20261202 \
    --max-examples 8 \
    --workers 1 \
    --request-timeout 10 \
    --no-color || status=$?
if [ "$status" -ne 0 ]; then
    echo "== server log (last lines)"
    tail -n 50 "$WORK/server.log" || true
fi
exit "$status"
