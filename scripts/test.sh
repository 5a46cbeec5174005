#!/usr/bin/env bash
# Runs every test: the generated contract against the committed one, Rust unit and
# integration tests (the store suite on SQLite and on PostgreSQL), the end-to-end suite
# with the official socket.io-client (and the TypeScript test against the generated
# typings, type-checked with tsc), the cluster
# suite (three nodes behind a private Redis and a fresh PostgreSQL database), and the
# python-socketio check. Fails on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-services.sh

echo "== build" >&2
cargo build --workspace --all-targets --locked

echo "== generated contract (clients/typescript/ is what the code generates)" >&2
contract_dir=$(mktemp -d)
trap 'rm -rf "$contract_dir"' EXIT
target/debug/chorus contract --out "$contract_dir" >/dev/null
stale=0
for f in "$contract_dir"/*; do
  if ! diff -u "clients/typescript/$(basename "$f")" "$f"; then stale=1; fi
done
if [ "$stale" -ne 0 ]; then
  echo "clients/typescript/ is stale (diff above: committed, then generated): run 'cargo run -p chorus -- contract' and commit the result" >&2
  exit 1
fi

echo "== rust tests" >&2
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

echo "== javascript end-to-end (socket.io-client)" >&2
(cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "== cluster end-to-end (3 nodes, private redis-server, PostgreSQL)" >&2
(cd e2e && npm run test:cluster)

echo "== python-socketio" >&2
if [ ! -x e2e/.venv/bin/python ]; then
  python3 -m venv e2e/.venv
fi
e2e/.venv/bin/python -m pip install -q --disable-pip-version-check -r e2e/python/requirements.txt
e2e/.venv/bin/python -m pytest -q e2e/python
