#!/usr/bin/env bash
# The README's run command: install what is missing, build, then serve. The app itself finds
# Postgres and Redis (env, then localhost, then the embedded defaults), migrates and seeds the
# demo. Quiet on purpose: a few lines of what it found and where to click; the install's and the
# build's output only when they fail (kept in .data/start-*.log either way).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

mkdir -p .data
# Runs a noisy step with its output in a log; prints the log and stops when the step fails.
quietly() {
	local what="$1" log=".data/start-$1.log"
	shift
	if ! "$@" >"$log" 2>&1; then
		echo "npm start: the $what failed; its output ($log):" >&2
		cat "$log" >&2
		exit 1
	fi
}

need_node
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "Installing dependencies (npm ci)…"
	quietly install npm ci --no-audit --no-fund
fi
# The machine's own Redis and Postgres are started when installed but stopped; finding none is
# not an error: the embedded defaults take over, and the server's summary says which it uses.
ensure_redis >/dev/null 2>&1 || true
ensure_postgres >/dev/null 2>&1 || true
echo "Building…"
quietly build npm run build --silent
export SEED_DEMO="${SEED_DEMO:-true}"
export LOG_FORMAT="${LOG_FORMAT:-pretty}" # one human line per log record (JSON is the default)
export LOG_LEVEL="${LOG_LEVEL:-warn}"     # warnings and errors only; LOG_LEVEL=info for the full log
export PORT="${PORT:-3000}"
export START_SUMMARY=1
exec node scripts/serve.js
