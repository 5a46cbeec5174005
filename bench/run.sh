#!/usr/bin/env bash
# Measures Chorus and the two reference servers (bare socketioxide, Node socket.io 4.x)
# with the same scenarios in one run, one server at a time, and prints the tables that
# BENCHMARKS.md records. Loopback only; every server it starts is killed on exit.
#
# Knobs (environment):
#   SERVERS      which servers, in order       (default "chorus socketioxide node")
#   RECEIVERS    receiver connections          (default 10000)
#   PUBLISHERS   publisher connections         (default: the highest rate, at least 50,
#                so no user sends more than 1 command/s)
#   RATES        commands/s, comma-separated   (default 2,4,10,20,30,45,60,75,90,120;
#                × RECEIVERS = deliveries/s offered)
#   DURATION     seconds of publishing per rate (default 10)
#   MIX          likes:comments                (default 1:1)
#   BENCH_THREADS load generator threads       (default 2)
#   KEEP_GOING   1 = run every rate even after one fails (default: stop a server's ramp)
#   OUT          result directory              (default target/bench-results/<UTC time>)
#   PORT_BASE    first port used               (default 3900)
#   CHORUS_LOG   RUST_LOG for Chorus           (default warn: the bench measures serving, not logging)
#   WAIT_QUIET   seconds to wait for other work on the machine to stop (default 0)
#   VIDEO_EVERY  every Nth receiver speaks the video dialect, Chorus only (default 0:
#                none; 2 = half)
#   CHORUS_BIN   the Chorus binary measured     (default target/release/chorus, built here;
#                another build, e.g. the one before a change, to measure it back to back)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SERVERS=${SERVERS:-"chorus socketioxide node"}
RECEIVERS=${RECEIVERS:-10000}
RATES=${RATES:-2,4,10,20,30,45,60,75,90,120}
# At most one command per second per publishing user, and at least 50 publishers.
max_rate=$(tr ',' '\n' <<<"$RATES" | sort -g | tail -1)
PUBLISHERS=${PUBLISHERS:-$(awk -v r="$max_rate" 'BEGIN { p = int(r + 0.999); print (p < 50 ? 50 : p) }')}
DURATION=${DURATION:-10}
MIX=${MIX:-1:1}
BENCH_THREADS=${BENCH_THREADS:-2}
KEEP_GOING=${KEEP_GOING:-0}
OUT=${OUT:-target/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
PORT_BASE=${PORT_BASE:-3900}
CHORUS_LOG=${CHORUS_LOG:-warn}
CHORUS_BIN=${CHORUS_BIN:-target/release/chorus}
JWT_SECRET="bench-jwt-secret-$$-$RANDOM"
SERVER_KEY="bench-server-key-$$-$RANDOM"

# 10,000 receivers need 10,000 descriptors in the load generator (and as many in the server).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((RECEIVERS + PUBLISHERS + 200)) ]; then
  echo "run.sh: the descriptor limit $(ulimit -n) is too low for $RECEIVERS receivers" >&2
  exit 1
fi

mkdir -p "$OUT"
TMP="$(mktemp -d)"
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build -------------------------------------------------------------------------------
packages=(-p chorus-bench)
for s in $SERVERS; do
  case "$s" in
    chorus) packages+=(-p chorus) ;;
    socketioxide) packages+=(-p reference-socketioxide) ;;
    node) ;;
    *) echo "run.sh: unknown server '$s' (chorus, socketioxide, node)" >&2; exit 2 ;;
  esac
done
echo "== building ${packages[*]}"
cargo build --release "${packages[@]}"
if [[ " $SERVERS " == *" node "* ]]; then
  echo "== installing the Node reference (npm ci)"
  (cd bench/reference-node && npm ci --no-audit --no-fund --loglevel=error)
fi

# ---- one server at a time ----------------------------------------------------------------
wait_ready() { # url, pid
  for _ in $(seq 1 150); do
    if curl -fs -o /dev/null --max-time 1 "$1"; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then return 1; fi
    sleep 0.2
  done
  return 1
}

# Percent of all cores busy over two seconds (from /proc/stat).
cpu_busy() {
  local a b
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

# Other work on the machine skews every figure: note it, and with WAIT_QUIET=N wait up
# to N seconds for the cores to be at most 10% busy before measuring.
machine_note() {
  local busy waited=0
  busy=$(cpu_busy)
  while [ "$busy" -gt 10 ] && [ "$waited" -lt "${WAIT_QUIET:-0}" ]; do
    sleep 8; waited=$((waited + 10)); busy=$(cpu_busy)
  done
  [ "$busy" -gt 10 ] && echo "run.sh: warning: the machine was ${busy}% busy before $1; its figures are skewed" >&2
  {
    echo "--- $(date -u +%FT%TZ) before $1"
    echo "cores: $(nproc); busy before start: ${busy}%; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "busiest processes:"
    ps -eo pid,pcpu,rss,comm --sort=-pcpu | head -6
  } >>"$OUT/machine.txt"
}

# Bounded: connecting and idling take at most a few minutes; each rate at most twice
# (a noisy failure is run again) DURATION + the drain limit (20 s), plus up to a minute
# waiting for the machine to be quiet.
n_rates=$(tr ',' '\n' <<<"$RATES" | grep -c .)
BENCH_TIMEOUT=$((300 + n_rates * (2 * ${DURATION%.*} + 120)))

port=$PORT_BASE
for s in $SERVERS; do
  port=$((port + 1))
  url="http://127.0.0.1:$port"
  extra=()
  case "$s" in
    chorus)
      # Every bench connection comes from 127.0.0.1 and the references limit nothing, so
      # the per-address socket cap and the token buckets are off (override with
      # CHORUS_RATE_LIMITS_ENABLED=true: each bench user stays under 1 command/s).
      CHORUS_MAX_SOCKETS_PER_IP=0 CHORUS_RATE_LIMITS_ENABLED="${CHORUS_RATE_LIMITS_ENABLED:-false}" \
      RUST_LOG="$CHORUS_LOG" "$CHORUS_BIN" serve --listen "127.0.0.1:$port" \
        --database-url "sqlite://$TMP/bench.db" --jwt-secret "$JWT_SECRET" \
        --server-key "$SERVER_KEY" >"$OUT/chorus.log" 2>&1 &
      SERVER_PID=$!
      ready="$url/healthz"
      extra=(--server-key "$SERVER_KEY")
      ;;
    socketioxide)
      target/release/reference-socketioxide --port "$port" >"$OUT/socketioxide.log" 2>&1 &
      SERVER_PID=$!
      ready="$url/socket.io/?EIO=4&transport=polling"
      ;;
    node)
      node bench/reference-node/server.js --port "$port" >"$OUT/node.log" 2>&1 &
      SERVER_PID=$!
      ready="$url/socket.io/?EIO=4&transport=polling"
      ;;
  esac
  if ! wait_ready "$ready" "$SERVER_PID"; then
    echo "run.sh: $s did not become ready on $url; see $OUT/$s.log" >&2
    exit 1
  fi
  sleep 1 # let the server settle before its baseline memory is read
  machine_note "$s"
  echo "== $s (pid $SERVER_PID) on $url"
  flags=()
  [ "$KEEP_GOING" = 1 ] && flags+=(--keep-going)
  [ "$s" = chorus ] && [ "${VIDEO_EVERY:-0}" != 0 ] && flags+=(--video-every "$VIDEO_EVERY")
  timeout "$BENCH_TIMEOUT" target/release/chorus-bench run \
    --url "$url" --label "$s" --server-pid "$SERVER_PID" \
    --receivers "$RECEIVERS" --publishers "$PUBLISHERS" --rates "$RATES" \
    --duration "$DURATION" --mix "$MIX" --jwt-secret "$JWT_SECRET" \
    --threads "$BENCH_THREADS" --json-out "$OUT/$s.json" "${extra[@]}" "${flags[@]}" \
    | tee "$OUT/$s.txt" || echo "run.sh: the bench against $s failed (exit $?)" >&2
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  sleep 2 # let the closed sockets drain before the next server starts
done

echo
echo "== results ($OUT)"
results=()
for s in $SERVERS; do
  [ -f "$OUT/$s.json" ] && results+=("$OUT/$s.json")
done
if [ ${#results[@]} -gt 0 ]; then
  target/release/chorus-bench report "${results[@]}" | tee "$OUT/report.md"
fi
