#!/usr/bin/env bash
# usage: chatbench.sh BIN OUTDIR RATES [DURATION]
set -uo pipefail
BIN=$1; OUT=$2; RATES=$3; DUR=${4:-10}; PORT=${PORT:-3971}
mkdir -p "$OUT"; TMP=$(mktemp -d); DB="$TMP/chat.db"
JWT=jwt-$$; KEY=key-$$
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
CHORUS_RATE_LIMITS_ENABLED=false CHORUS_MAX_SOCKETS_PER_USER=0 CHORUS_MAX_SOCKETS_PER_IP=0 \
CHORUS_STREAM_CHAT_PER_SEC=0 RUST_LOG=warn \
  "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "sqlite://$DB" --jwt-secret "$JWT" --server-key "$KEY" >"$OUT/chorus.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
sleep 1
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/machine.txt"
ps -eo pid,pcpu,comm --sort=-pcpu | head -6 >> "$OUT/machine.txt"
timeout 900 /tmp/bench-bin/chorus-bench-base chat --url "http://127.0.0.1:$PORT" --label chorus --jwt-secret "$JWT" --server-key "$KEY" \
  --threads 2 --server-pid "$PID" --users 200 --room-size 2 --rates "$RATES" --duration "$DUR" --db "$DB" --json-out "$OUT/chat.json" > "$OUT/chat.txt" 2>&1
kill -9 $PID; wait $PID 2>/dev/null
run=$(grep -o '"run":"[^"]*"' "$OUT/chat.json" | head -1 | cut -d'"' -f4)
acked=$(grep -o '"acked_new_total":[0-9]*' "$OUT/chat.json" | head -1 | cut -d: -f2)
stored=$(sqlite3 "$DB" "SELECT COUNT(*) FROM chat_messages WHERE client_msg_id LIKE '$run-%';")
echo "after kill -9: $stored stored, $acked acked" | tee -a "$OUT/chat.txt"
rm -rf "$TMP"
