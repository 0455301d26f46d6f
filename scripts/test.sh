#!/usr/bin/env bash
# The README's test command, and what CI runs: everything needed is installed or started here.
#
# Two phases of jobs side by side, because none of them keeps both cores busy alone:
#   1. the static checks (svelte-check and prettier; eslint) beside the build;
#   2. vitest (unit, integration, components) beside Playwright (e2e, a server per worker), on
#      the build (the HTTP tests and e2e start real app nodes from it).
# They share nothing but the services: every integration file and every e2e server make their
# own database and Redis key prefix. Jobs in the background write to reports/*.log, printed
# whole when they end.
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

mkdir -p reports
rm -f reports/vitest.json reports/playwright.json
started=$SECONDS
elapsed() { echo "$((SECONDS - started)) s"; }

# Generated types first, once: the checks and the build would otherwise both write them.
npx svelte-kit sync >/dev/null

echo "==> check (types, svelte-check, lint, format) beside the build"
npm run --silent check:types >reports/check-types.log 2>&1 &&
	npm run --silent check:format >>reports/check-types.log 2>&1 &
types_pid=$!
npm run --silent lint >reports/check-lint.log 2>&1 &
lint_pid=$!
build_status=0
npm run build --silent || build_status=$?
check_status=0
wait "$types_pid" || check_status=$?
wait "$lint_pid" || check_status=$?
cat reports/check-types.log reports/check-lint.log
if ((check_status != 0 || build_status != 0)); then
	echo "==> check or build failed ($(elapsed)); no tests run" >&2
	exit 1
fi
echo "==> check and build done ($(elapsed))"

echo "==> vitest (unit, integration, components), with e2e (Playwright on Debian Chromium) beside it"
PLAYWRIGHT_JSON_OUTPUT_NAME=reports/playwright.json npx playwright test --reporter=list,json \
	>reports/e2e.log 2>&1 &
e2e_pid=$!
status=0
# Two vitest workers, not the config's three: beside Chromium and the e2e server, a third
# overloads two cores, and the integration tests' timings (a lease renewed in time, a deadline
# met) assume a loaded machine, not a saturated one.
npx vitest run --maxWorkers="${VITEST_MAX_WORKERS:-2}" --reporter=default --reporter=json \
	--outputFile.json=reports/vitest.json || status=$?
echo "==> vitest done ($(elapsed))"
e2e_status=0
wait "$e2e_pid" || e2e_status=$?
echo "==> e2e (Playwright on Debian Chromium)"
cat reports/e2e.log
((e2e_status == 0)) || status=$e2e_status
echo "==> done in $(elapsed)"

node scripts/test-summary.mjs reports/vitest.json reports/playwright.json
exit "$status"
