#!/usr/bin/env bash
# The README's test command, and what CI runs: everything needed is installed or started here.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

need_node
install_dependencies

if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "==> installing Chromium (apt-get)"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	else
		echo "Chromium is missing: install Debian's 'chromium' package, or set CHROMIUM_PATH." >&2
		exit 1
	fi
fi

ensure_redis || { echo "Redis is not answering on 127.0.0.1:6379 and redis-server is not installed." >&2; exit 1; }
ensure_postgres || { echo "PostgreSQL is not answering on 127.0.0.1:5432 and could not be started." >&2; exit 1; }

echo "==> check (types, svelte-check, lint, format)"
npm run check --silent

# The HTTP tests start real app nodes from the build, so it comes first.
echo "==> build"
npm run build --silent

mkdir -p reports
status=0
echo "==> vitest (unit, integration, components)"
npx vitest run --reporter=default --reporter=json --outputFile.json=reports/vitest.json || status=$?

echo "==> e2e (Playwright on Debian Chromium)"
PLAYWRIGHT_JSON_OUTPUT_NAME=reports/playwright.json npx playwright test --reporter=list,json || status=$?

node scripts/test-summary.mjs reports/vitest.json reports/playwright.json
exit "$status"
