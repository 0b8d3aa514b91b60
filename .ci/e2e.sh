#!/usr/bin/env bash
# Browser tests of the built-in web board: headless Debian Chromium driven by Playwright against
# the debug binary that `cargo test` built, on a free port with a fresh database. Installs what a
# fresh machine lacks (idempotently) and always stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== browser tests of the web board (Playwright, headless Chromium)"

BIN="${1:-${CARGO_TARGET_DIR:-target}/debug/agent-kanban}"
[ -x "$BIN" ] || cargo build --bin agent-kanban

if ! [ -x /usr/bin/chromium ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The image's apt hook can delete downloaded packages mid-install once; a retry succeeds.
    apt-get install -y -qq chromium || apt-get install -y -qq chromium
fi
if ! command -v npm >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm || apt-get install -y -qq nodejs npm
fi

(cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)

WORK="$(mktemp -d)"
PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
mkdir -p "$WORK/config"
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap stop_server EXIT

KANBAN__SERVER__PORT="$PORT" \
KANBAN__DATABASE__PATH="$WORK/kanban.db" \
KANBAN__RATE_LIMIT__ENABLED=false \
KANBAN__AUTH__REGISTRATION_ENABLED=true \
KANBAN__AUTH__DEFAULT_ROLE=viewer \
KANBAN__AUTH__ANONYMOUS_ROLE=none \
    "$BIN" --config-dir "$WORK/config" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    if curl -fsS "$BASE/health/live" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/server.log"; echo "server exited"; exit 1; fi
    sleep 0.2
done

status=0
(cd e2e && KANBAN_E2E_BASE="$BASE" npx playwright test) || status=$?
if [ "$status" -ne 0 ]; then tail -n 20 "$WORK/server.log"; fi
exit "$status"
