#!/usr/bin/env bash
# Cluster fan-out: the same broadcast scenario as run.sh against 1, 2 and 3 Chorus nodes
# behind one private Redis and one fresh PostgreSQL database. Receivers are spread
# round-robin over the nodes; publishers stay on node 1, so receivers on nodes 2 and 3
# measure cross-node delivery (Redis hop). On a 2-core machine this shows the cost per
# node, not a speed-up. Every process it starts is stopped on exit; the database is
# dropped.
#
# Knobs (environment):
#   NODES        node counts to run, in order   (default "1 2 3")
#   RECEIVERS    receiver connections           (default 3000)
#   PUBLISHERS   publisher connections          (default 50)
#   RATES        commands/s, comma-separated    (default 5,10,20,40)
#   DURATION     seconds of publishing per rate (default 10)
#   MIX          likes:comments                 (default 0:1: comments carry send times)
#   PG_URL       admin URL of PostgreSQL        (default postgres://postgres@127.0.0.1:5432/postgres)
#   OUT          result directory               (default target/bench-results/cluster-<UTC time>)
#   PORT_BASE    first port used                (default 3950)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

NODES=${NODES:-"1 2 3"}
RECEIVERS=${RECEIVERS:-3000}
PUBLISHERS=${PUBLISHERS:-50}
RATES=${RATES:-5,10,20,40}
DURATION=${DURATION:-10}
MIX=${MIX:-0:1}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
OUT=${OUT:-target/bench-results/cluster-$(date -u +%Y%m%dT%H%M%SZ)}
PORT_BASE=${PORT_BASE:-3950}
JWT_SECRET="bench-jwt-secret-$$-$RANDOM"
SERVER_KEY="bench-server-key-$$-$RANDOM"
DB="chorus_bench_$$_$RANDOM"
REDIS_PORT=$((PORT_BASE + 49))

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$OUT"
TMP="$(mktemp -d)"
PIDS=()
REDIS_PID=""

stop_nodes() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_nodes
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
  psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v redis-server >/dev/null || { echo "run-cluster.sh: redis-server is not installed" >&2; exit 1; }
echo "== building"
cargo build --release -p chorus -p chorus-bench

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
  >"$OUT/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

wait_ready() { # url, pid
  for _ in $(seq 1 150); do
    curl -fs -o /dev/null --max-time 1 "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

n_rates=$(tr ',' '\n' <<<"$RATES" | grep -c .)
BENCH_TIMEOUT=$((300 + n_rates * (2 * ${DURATION%.*} + 120)))
results=()
for n in $NODES; do
  psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
  psql "$PG_URL" -qc "CREATE DATABASE $DB" >/dev/null
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  urls=()
  for i in $(seq 1 "$n"); do
    port=$((PORT_BASE + i))
    CHORUS_MAX_SOCKETS_PER_IP=0 CHORUS_MAX_SOCKETS_PER_USER=0 CHORUS_RATE_LIMITS_ENABLED=false RUST_LOG=warn \
      target/release/chorus serve --listen "127.0.0.1:$port" \
      --database-url "postgres://postgres@127.0.0.1:5432/$DB" \
      --redis-url "redis://127.0.0.1:$REDIS_PORT" \
      --jwt-secret "$JWT_SECRET" --server-key "$SERVER_KEY" >"$OUT/nodes$n-node$i.log" 2>&1 &
    PIDS+=($!)
    if ! wait_ready "http://127.0.0.1:$port/healthz" "$!"; then
      echo "run-cluster.sh: node $i did not start; see $OUT/nodes$n-node$i.log" >&2
      exit 1
    fi
    urls+=("http://127.0.0.1:$port")
  done
  sleep 1
  extra_pids=$(IFS=,; echo "${PIDS[*]:1}${PIDS[1]:+,}$REDIS_PID")
  receiver_urls=$(IFS=,; echo "${urls[*]}")
  echo "== $n node(s): ${urls[*]}"
  timeout "$BENCH_TIMEOUT" target/release/chorus-bench run \
    --url "${urls[0]}" --receiver-urls "$receiver_urls" --label "chorus-${n}node" \
    --server-pid "${PIDS[0]}" --extra-server-pids "$extra_pids" \
    --receivers "$RECEIVERS" --publishers "$PUBLISHERS" --rates "$RATES" \
    --duration "$DURATION" --mix "$MIX" --jwt-secret "$JWT_SECRET" --server-key "$SERVER_KEY" \
    --json-out "$OUT/nodes$n.json" | tee "$OUT/nodes$n.txt" \
    || echo "run-cluster.sh: the bench with $n node(s) failed (exit $?)" >&2
  [ -f "$OUT/nodes$n.json" ] && results+=("$OUT/nodes$n.json")
  stop_nodes
  sleep 2
done

echo
echo "== results ($OUT)"
if [ ${#results[@]} -gt 0 ]; then
  target/release/chorus-bench report "${results[@]}" | tee "$OUT/report.md"
  # Cross-node latency: per receiver node, per rate.
  for f in "${results[@]}"; do
    python3 - "$f" <<'PY' | tee -a "$OUT/report.md"
import json, sys
text = open(sys.argv[1]).read().strip()
r = json.loads(text[len("RESULT "):] if text.startswith("RESULT ") else text)
print(f"\n{r['server']}: comment delivery by receiver node (p50 / p99 ms)")
for s in r.get("steps", []):
    cells = [f"{(n.get('url') or '?').rsplit(':', 1)[-1]}: {n['comment_delivery_ms'].get('p50')} / {n['comment_delivery_ms'].get('p99')}"
             for n in s.get("by_node", [])]
    print(f"  rate {s['rate']}/s ({s.get('deliveries_per_s')} deliveries/s, server cpu {s.get('server_cpu_pct')}%): " + "; ".join(cells))
PY
  done
fi
