# Shared by start.sh and test.sh: make a fresh clone runnable.

need_node() {
	local major minor
	IFS=. read -r major minor _ <<<"$(node -p 'process.versions.node')"
	if ((major < 20 || (major == 20 && minor < 19))); then
		echo "Node 20.19 or newer is needed (found $(node -v))." >&2
		exit 1
	fi
}

# npm ci when node_modules is missing or older than the lockfile.
install_dependencies() {
	if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
		echo "==> installing dependencies (npm ci)"
		npm ci --no-audit --no-fund
	fi
}

# Starts the machine's Redis / Postgres when they are installed but not answering.
ensure_redis() {
	if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
	if command -v redis-server >/dev/null 2>&1; then
		echo "==> starting redis-server on 127.0.0.1:6379"
		mkdir -p /tmp/presence-redis
		redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
			--dir /tmp/presence-redis --logfile /tmp/presence-redis/redis.log
		for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.1; done
	fi
	return 1
}

ensure_postgres() {
	if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then return 0; fi
	if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
		echo "==> starting PostgreSQL"
		pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
		for _ in $(seq 1 100); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && return 0; sleep 0.1; done
	fi
	return 1
}
