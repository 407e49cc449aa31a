#!/usr/bin/env bash
# The one command that runs every test (README "Run all tests"; .ci/run calls it).
#
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), RabbitMQ on
# 127.0.0.1:5672 (guest/guest), Node 20 with npm, cargo-nextest, Python 3
# with venv (schemathesis is installed, pinned, by scripts/schemathesis.sh);
# for the gateway end-to-end test also nginx and chromium; for the deployment
# tests check-jsonschema, kubernetes-validate, PyYAML and promtool/prometheus
# (.ci/run installs all of them, pinned).
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${NEXTEST_PROFILE:-default}"

# Node packages for the socket.io-client end-to-end tests.
for dir in e2e deploy/e2e; do
  if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
    echo "==> npm ci --prefix $dir"
    npm ci --prefix "$dir" --no-audit --no-fund
  fi
done

echo "==> Rust tests (parallel; each test has its own database and exchanges)"
cargo nextest run --workspace --locked --profile "$profile" -E 'not binary(/^serial_/)'

echo "==> Rust tests that cut shared servers (one at a time)"
cargo nextest run --workspace --locked --profile "$profile" -E 'binary(/^serial_/)' \
  --test-threads 1 --no-tests pass

echo "==> HTTP contract of auth-service (schemathesis against a live stack)"
scripts/schemathesis.sh

echo "==> Deployment files (compose schema and policy, nginx -t, Kubernetes, Prometheus rules)"
deploy/check.sh

echo "==> Service binaries for the tests below (debug, built once)"
cargo build --workspace --bins --locked

echo "==> docker compose up without Docker: .env.example boots the compose topology"
python3 deploy/compose-test/run.py --no-build

echo "==> A real Prometheus scrapes the launcher's services"
python3 deploy/monitoring/test.py

echo "==> End to end through the gateway (nginx, all services, real browser)"
deploy/e2e/run.sh

echo "==> Many instances through the gateway: 4 realtime / 2 auth / 2 session-store"
deploy/scale/run.sh --no-build
