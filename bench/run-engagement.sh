#!/usr/bin/env bash
# Measures Chorus's engagement paths, one scenario at a time, each against a fresh Chorus
# on a fresh SQLite file: persisted chat messages per second (`chat`), feed fan-out to
# online followers (`feed`) and one live stream with chat and gifts (`stream`). There is
# no reference implementation of these paths (the reference servers only do
# join/like/comment), so only Chorus runs. Loopback only; the server is killed on exit.
#
# Knobs (environment):
#   SCENARIOS        which scenarios, in order   (default "chat feed stream")
#   CHAT_USERS       chat users, one socket each (default 200)
#   CHAT_ROOM_SIZE   2 = direct rooms, more = group rooms of that size (default 2)
#   CHAT_RATES       chat:send/s, comma-separated (default 2000,5000,10000,15000)
#   CHAT_DURATION    seconds per rate            (default 10)
#   FEED_FOLLOWERS   online, subscribed followers (default 10000)
#   FEED_OFFLINE     more followers that never connect (default 0)
#   FEED_REPS        feed:new_content announcements (default 10)
#   FEED_SIDE_RATE   side client's content:like/s (default 200)
#   STREAM_VIEWERS   viewers, chatters and gifters included (default 10000)
#   STREAM_CHATTERS  viewers sending stream:chat (default 200)
#   STREAM_GIFTERS   viewers sending gift:send   (default 50)
#   STREAM_STEPS     chat/s:gifts/s steps, comma-separated (default 8:2,20:5,40:10,200:50;
#                    the last is the issue's load, the others find what is sustained)
#   STREAM_DURATION  seconds per step            (default 30)
#   BENCH_THREADS    load generator threads      (default 2)
#   OUT              result directory            (default target/bench-results/engagement-<UTC time>)
#   PORT             Chorus's port               (default 3950)
#   CHORUS_LOG       RUST_LOG for Chorus         (default warn)
#   WAIT_QUIET       seconds to wait for other work on the machine to stop (default 0)
#   PERF             1 = record the server with `perf record -g` during each scenario and
#                    write OUT/<scenario>.perf.txt, built with the `profiling` profile
#                    (release + line tables; default 0; perf costs CPU too)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SCENARIOS=${SCENARIOS:-"chat feed stream"}
CHAT_USERS=${CHAT_USERS:-200}
CHAT_ROOM_SIZE=${CHAT_ROOM_SIZE:-2}
CHAT_RATES=${CHAT_RATES:-2000,5000,10000,15000}
CHAT_DURATION=${CHAT_DURATION:-10}
FEED_FOLLOWERS=${FEED_FOLLOWERS:-10000}
FEED_OFFLINE=${FEED_OFFLINE:-0}
FEED_REPS=${FEED_REPS:-10}
FEED_SIDE_RATE=${FEED_SIDE_RATE:-200}
STREAM_VIEWERS=${STREAM_VIEWERS:-10000}
STREAM_CHATTERS=${STREAM_CHATTERS:-200}
STREAM_GIFTERS=${STREAM_GIFTERS:-50}
STREAM_STEPS=${STREAM_STEPS:-8:2,20:5,40:10,200:50}
STREAM_DURATION=${STREAM_DURATION:-30}
BENCH_THREADS=${BENCH_THREADS:-2}
OUT=${OUT:-target/bench-results/engagement-$(date -u +%Y%m%dT%H%M%SZ)}
PORT=${PORT:-3950}
CHORUS_LOG=${CHORUS_LOG:-warn}
PERF=${PERF:-0}
JWT_SECRET="bench-jwt-secret-$$-$RANDOM"
SERVER_KEY="bench-server-key-$$-$RANDOM"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need=$(( (FEED_FOLLOWERS > STREAM_VIEWERS ? FEED_FOLLOWERS : STREAM_VIEWERS) + 500 ))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  echo "run-engagement.sh: the descriptor limit $(ulimit -n) is too low (need $need)" >&2
  exit 1
fi

mkdir -p "$OUT"
TMP="$(mktemp -d)"
SERVER_PID=""
PERF_PID=""

stop_server() {
  if [ -n "$PERF_PID" ] && kill -0 "$PERF_PID" 2>/dev/null; then
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
  fi
  PERF_PID=""
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stop_server
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# perf needs line tables to name source lines: PERF=1 builds the `profiling` profile
# (the release build with line tables, in target/profiling/) instead of `release`.
PROFILE=release
[ "$PERF" = 1 ] && PROFILE=profiling
BIN="target/$PROFILE"
echo "== building chorus and chorus-bench ($PROFILE profile)"
cargo build --profile "$PROFILE" -p chorus -p chorus-bench
echo "built from: $(git describe --always --dirty 2>/dev/null || echo unknown) at $(date -u +%FT%TZ)" >>"$OUT/machine.txt"
if [[ " $SCENARIOS " == *" chat "* ]] && ! command -v sqlite3 >/dev/null; then
  echo "run-engagement.sh: sqlite3 is not installed: the chat durability check will only page REST history" >&2
fi

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

machine_note() {
  local busy waited=0
  busy=$(cpu_busy)
  while [ "$busy" -gt 10 ] && [ "$waited" -lt "${WAIT_QUIET:-0}" ]; do
    sleep 8; waited=$((waited + 10)); busy=$(cpu_busy)
  done
  [ "$busy" -gt 10 ] && echo "run-engagement.sh: warning: the machine was ${busy}% busy before $1; its figures are skewed" >&2
  {
    echo "--- $(date -u +%FT%TZ) before $1"
    echo "cores: $(nproc); busy before start: ${busy}%; load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "busiest processes:"
    ps -eo pid,pcpu,rss,comm --sort=-pcpu | head -6
  } >>"$OUT/machine.txt"
}

# A fresh Chorus on a fresh SQLite file, with every limit that would refuse bench
# traffic turned off (all connections come from 127.0.0.1, and the bench users send far
# more than a person would).
start_chorus() { # scenario
  DB="$TMP/$1.db"
  rm -f "$DB" "$DB-wal" "$DB-shm"
  CHORUS_RATE_LIMITS_ENABLED=false CHORUS_MAX_SOCKETS_PER_USER=0 CHORUS_MAX_SOCKETS_PER_IP=0 \
  CHORUS_STREAM_CHAT_PER_SEC=0 RUST_LOG="$CHORUS_LOG" \
    "$BIN"/chorus serve --listen "127.0.0.1:$PORT" --database-url "sqlite://$DB" \
      --jwt-secret "$JWT_SECRET" --server-key "$SERVER_KEY" >"$OUT/$1.chorus.log" 2>&1 &
  SERVER_PID=$!
  if ! wait_ready "http://127.0.0.1:$PORT/healthz" "$SERVER_PID"; then
    echo "run-engagement.sh: chorus did not become ready; see $OUT/$1.chorus.log" >&2
    exit 1
  fi
  sleep 1
  if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
    perf record -q -g -p "$SERVER_PID" -o "$OUT/$1.perf.data" >/dev/null 2>&1 &
    PERF_PID=$!
  fi
}

common=(--url "http://127.0.0.1:$PORT" --label chorus --jwt-secret "$JWT_SECRET"
        --server-key "$SERVER_KEY" --threads "$BENCH_THREADS")

for s in $SCENARIOS; do
  start_chorus "$s"
  machine_note "$s"
  echo "== $s (chorus pid $SERVER_PID, $DB)"
  case "$s" in
    chat)
      timeout 1200 "$BIN"/chorus-bench chat "${common[@]}" --server-pid "$SERVER_PID" \
        --users "$CHAT_USERS" --room-size "$CHAT_ROOM_SIZE" --rates "$CHAT_RATES" \
        --duration "$CHAT_DURATION" --db "$DB" --json-out "$OUT/chat.json" \
        | tee "$OUT/chat.txt" || echo "run-engagement.sh: the chat bench failed (exit $?)" >&2
      # Durability across a crash: kill the server without warning, then count what the
      # file holds against what was acked.
      if [ -f "$OUT/chat.json" ] && command -v sqlite3 >/dev/null; then
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
        run=$(grep -o '"run":"[^"]*"' "$OUT/chat.json" | head -1 | cut -d'"' -f4)
        acked=$(grep -o '"acked_new_total":[0-9]*' "$OUT/chat.json" | head -1 | cut -d: -f2)
        stored=$(sqlite3 "$DB" "SELECT COUNT(*) FROM chat_messages WHERE client_msg_id LIKE '$run-%';")
        echo "after kill -9: $stored messages of run $run stored, $acked acked" | tee -a "$OUT/chat.txt"
        echo "CRASH_CHECK {\"acked\":$acked,\"stored_after_kill9\":$stored}" >>"$OUT/chat.json"
      fi
      ;;
    feed)
      timeout 1200 "$BIN"/chorus-bench feed "${common[@]}" --server-pid "$SERVER_PID" \
        --followers "$FEED_FOLLOWERS" --offline-followers "$FEED_OFFLINE" --reps "$FEED_REPS" \
        --side-rate "$FEED_SIDE_RATE" --json-out "$OUT/feed.json" \
        | tee "$OUT/feed.txt" || echo "run-engagement.sh: the feed bench failed (exit $?)" >&2
      ;;
    stream)
      timeout 1800 "$BIN"/chorus-bench stream "${common[@]}" --server-pid "$SERVER_PID" \
        --viewers "$STREAM_VIEWERS" --chatters "$STREAM_CHATTERS" --gifters "$STREAM_GIFTERS" \
        --steps "$STREAM_STEPS" --duration "$STREAM_DURATION" --json-out "$OUT/stream.json" \
        | tee "$OUT/stream.txt" || echo "run-engagement.sh: the stream bench failed (exit $?)" >&2
      ;;
    *) echo "run-engagement.sh: unknown scenario '$s' (chat, feed, stream)" >&2; exit 2 ;;
  esac
  had_perf=$PERF_PID
  stop_server
  if [ -n "$had_perf" ] && [ -f "$OUT/$s.perf.data" ]; then
    # Flat profile: self time per thread, library and symbol.
    perf report -i "$OUT/$s.perf.data" --stdio --no-children -g none --percent-limit 0.3 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -80 >"$OUT/$s.perf.txt" || true
  fi
  sleep 2 # let the closed sockets drain before the next scenario
done

echo
echo "== results ($OUT)"
results=()
for s in $SCENARIOS; do
  [ -f "$OUT/$s.json" ] && results+=("$OUT/$s.json")
done
if [ ${#results[@]} -gt 0 ]; then
  "$BIN"/chorus-bench engage-report "${results[@]}" | tee "$OUT/report.md"
fi
