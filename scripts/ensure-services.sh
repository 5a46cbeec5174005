#!/usr/bin/env bash
# Makes sure the services the test suite talks to are up: PostgreSQL on
# 127.0.0.1:5432 (the store suite and the cluster suite run against it) and Redis on
# 127.0.0.1:6379 (the Rust cluster tests) and NATS with JetStream on 127.0.0.1:4222
# (the events_nats tests). The cluster end-to-end suite starts its own private
# redis-server, and one NATS test its own nats-server, so both binaries must be
# installed too. Installs what is missing
# (apt-get), starts an installed but stopped server; fails loudly when none can be had.
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "ensure-services: PostgreSQL client tools are missing; installing postgresql" >&2
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
fi

if ! pg_up; then
  echo "ensure-services: starting PostgreSQL" >&2
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
    [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! pg_up; then
  echo "ensure-services: PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started" >&2
  exit 1
fi
echo "ensure-services: PostgreSQL is up" >&2

# ---------------------------------------------------------------- Redis

redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "ensure-services: redis-server is missing; installing redis-server" >&2
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
fi
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "ensure-services: redis-server and redis-cli are not installed and could not be installed" >&2
  exit 1
fi

if ! redis_up; then
  echo "ensure-services: starting Redis on 127.0.0.1:6379" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
    --dir /tmp --logfile /tmp/chorus-test-redis.log >/dev/null || true
  for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
fi
if ! redis_up; then
  echo "ensure-services: Redis is not reachable on 127.0.0.1:6379 and could not be started (see /tmp/chorus-test-redis.log)" >&2
  exit 1
fi
echo "ensure-services: Redis is up" >&2

# ---------------------------------------------------------------- NATS (JetStream)

nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }

if ! command -v nats-server >/dev/null 2>&1; then
  echo "ensure-services: nats-server is missing; installing nats-server" >&2
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  fi
fi
if ! command -v nats-server >/dev/null 2>&1; then
  echo "ensure-services: nats-server is not installed and could not be installed" >&2
  exit 1
fi

if ! nats_up; then
  echo "ensure-services: starting NATS with JetStream on 127.0.0.1:4222" >&2
  mkdir -p /tmp/chorus-test-nats
  nohup nats-server -js -a 127.0.0.1 -p 4222 -sd /tmp/chorus-test-nats >/tmp/chorus-test-nats.log 2>&1 &
  for _ in $(seq 1 30); do nats_up && break; sleep 0.2; done
fi
if ! nats_up; then
  echo "ensure-services: NATS is not reachable on 127.0.0.1:4222 and could not be started (see /tmp/chorus-test-nats.log)" >&2
  exit 1
fi
echo "ensure-services: NATS is up" >&2
