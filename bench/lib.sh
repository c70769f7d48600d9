# Shared by the benchmark scripts: tools, the service's life, and writing a
# section of docs/benchmarks.md. Sourced, not run.

export PATH="$HOME/.cargo/bin:$PATH"

# Closed-loop measurements are repeated, service and floor alternating, and
# the median is kept (RUNS=1 for a quick look).
RUNS=${RUNS:-3}
# The median of the numbers on standard input.
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# The line of a file whose first field is the median (its other fields go with it).
median_line() { sort -g -k1,1 "$1" | sed -n "$(( ($(wc -l <"$1") + 1) / 2 ))p"; }

# Installs what is missing: Debian packages with apt-get (as root or with
# sudo), `cargo:NAME` from the Rust registry.
need() {
  command -v "$1" >/dev/null && return
  echo "bench: installing $1 ($2)" >&2
  case "$2" in
    cargo:*) cargo install --quiet --locked "${2#cargo:}" ;;
    *) if [ "$(id -u)" -eq 0 ]; then apt-get install -y -q "$2" >/dev/null; else sudo apt-get install -y -q "$2" >/dev/null; fi ;;
  esac
  command -v "$1" >/dev/null || { echo "bench: $1 is missing and could not be installed" >&2; exit 1; }
}

# The service in the background on its own private cluster under $DATA_DIR;
# start sets $startup (seconds until /readyz answered 200).
pid=
stop() { if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap stop EXIT
start() {
  local t0; t0=$(date +%s.%N)
  # `serve` on the benchmark's own data; `demo` (BENCH_MODE=demo) where the
  # demonstration's territory is the data.
  SESAME_JWT_SECRET=${SESAME_JWT_SECRET:-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')} \
    ./target/release/sesame "${BENCH_MODE:-serve}" >>"target/bench-$BENCH.log" 2>&1 & pid=$!
  until curl -sf -o /dev/null "$URL/readyz"; do
    kill -0 "$pid" 2>/dev/null || { echo "bench: the service died; see target/bench-$BENCH.log" >&2; exit 1; }
    sleep 0.02
  done
  startup=$(echo "$(date +%s.%N) - $t0" | bc)
}

# With PROFILE=1: a flame graph of the running service ($pid) while the
# command after NAME (a wrk of at least 8 s) loads it, written to
# docs/profiles/NAME.svg (perf with DWARF call stacks, 5 s at 499 Hz,
# folded and drawn by inferno).
flame() {
  [ "${PROFILE:-0}" = 1 ] || return 0
  need perf linux-perf
  need inferno-flamegraph cargo:inferno
  local name=$1; shift
  mkdir -p docs/profiles
  "$@" >/dev/null &
  local load=$!
  sleep 2
  perf record -q -F 499 --call-graph dwarf,16384 -p "$pid" -o "target/perf-$name.data" -- sleep 5 >/dev/null 2>&1
  wait "$load"
  perf script -i "target/perf-$name.data" 2>/dev/null | inferno-collapse-perf |
    inferno-flamegraph --title "$name: Sésame under load, $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)" \
      >"docs/profiles/$name.svg"
  echo "bench: flame graph in docs/profiles/$name.svg" >&2
}

# $LINES delivered order lines (`sesame seed`, seed 7) in the private cluster
# under $DATA_DIR, seeded once; the seconds it took are kept beside it.
seed_once() {
  [ -f "$DATA_DIR/seeded-$LINES" ] && return
  rm -rf "$DATA_DIR"
  echo "bench: seeding $LINES order lines"
  local t0; t0=$(date +%s.%N)
  ./target/release/sesame seed --lines "$LINES" --seed 7 >/dev/null
  echo "$(date +%s.%N) - $t0" | bc >"$DATA_DIR/seeded-$LINES"
}

# The seeded lines of bench/egalim.sh and bench/opendata.sh: one folder per
# volume (LINES), so that measuring another volume keeps the default one.
lines_data_dir() {
  if [ "$LINES" = 1000000 ]; then echo target/bench-egalim; else echo "target/bench-egalim-$LINES"; fi
}

db_url() { echo "postgres://sesame:$(cat "$DATA_DIR/pg-password")@127.0.0.1:$(cat "$DATA_DIR/port")/sesame"; }

machine() {
  echo "$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(free -h | awk '/^Mem:/ {print $2}') memory;" \
       "rustc $(rustc --version | awk '{print $2}'), PostgreSQL $(cat "$DATA_DIR/pgdata/PG_VERSION") (private cluster," \
       "default settings), pgbench $(pgbench --version | awk '{print $3}'), wrk $( (wrk -v 2>&1 || true) | awk 'NR==1 {print $2}')"
}

# Replaces the section between <!-- NAME:start --> and <!-- NAME:end --> of
# docs/benchmarks.md with standard input (appends it the first time).
write_section() {
  local body; body=$(cat)
  SECTION_BODY="$body" python3 - "$1" <<'PY'
import os, pathlib, re, sys
name = sys.argv[1]
body = os.environ["SECTION_BODY"].rstrip("\n")
path = pathlib.Path("docs/benchmarks.md")
text = path.read_text() if path.exists() else "# Benchmarks\n"
block = f"<!-- {name}:start -->\n{body}\n<!-- {name}:end -->"
pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
path.write_text(text)
PY
}
