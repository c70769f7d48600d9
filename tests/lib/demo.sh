# Sourced by the scripts that test the running service from outside
# (tests/fuzz/schemathesis.sh, tests/clients/scenario.sh): starts the demo
# on a private database under target/ and waits until it is ready.
#
#   start_demo PORT DATA_DIR   sets DEMO_URL and DEMO_PID; the demo stops
#                              (and its cluster with it) when the script exits.
# Needs PostgreSQL's server binaries; builds the debug binary if missing
# (SESAME_BIN names another).

DEMO_PASSWORD="Sésame démo en Cœur d'Essonne"

start_demo() {
  local port=$1 data=$2 bin=${SESAME_BIN:-target/debug/sesame}
  [ -x "$bin" ] || cargo build --quiet
  # Under target/: PostgreSQL (run as `postgres` when we are root) must reach it.
  rm -rf "$data" && mkdir -p "$data"
  DEMO_URL="http://127.0.0.1:$port"
  SESAME_DATA_DIR="$data/sesame" SESAME_BIND="127.0.0.1:$port" SESAME_LOG=warn \
    "$bin" demo >"$data/service.log" 2>&1 &
  DEMO_PID=$!
  DEMO_DATA=$data
  # The service stops its cluster on SIGTERM; the logs stay in $data.
  trap 'kill -TERM "$DEMO_PID" 2>/dev/null; wait "$DEMO_PID" 2>/dev/null || true; rm -rf "$DEMO_DATA/sesame"' EXIT
  # python3 stands in for curl (one tool fewer to install).
  local _
  for _ in $(seq 1 240); do
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
      "$DEMO_URL/readyz" 2>/dev/null && return 0
    kill -0 "$DEMO_PID" 2>/dev/null || { cat "$data/service.log"; return 1; }
    sleep 0.5
  done
  echo "the demo did not get ready in 2 minutes" >&2
  cat "$data/service.log"
  return 1
}
