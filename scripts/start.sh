#!/usr/bin/env bash
# The README's run command: install what is missing, build, then serve. The app itself finds
# Postgres and Redis (env, then localhost, then the embedded defaults), migrates and seeds the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

need_node
install_dependencies
ensure_redis || echo "==> no Redis: the single-process presence backend will be used"
ensure_postgres || echo "==> no PostgreSQL on localhost: the embedded Postgres will be used"
echo "==> building"
npm run build --silent
export SEED_DEMO="${SEED_DEMO:-true}"
export LOG_FORMAT="${LOG_FORMAT:-pretty}" # one human line per log record (JSON is the default)
export PORT="${PORT:-3000}"
echo "==> serving on http://localhost:${PORT} (inbox: /inbox, demo shop: /demo)"
exec node scripts/serve.js
