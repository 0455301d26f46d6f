// The app under test for Playwright: a fresh Postgres database, its own Redis key prefix, the
// demo seed and short presence timings, then the production entry (scripts/serve.js on the build; `npm run build` first).
// Playwright stops this process with SIGKILL: a detached watchdog (cleanup.mjs) drops the
// database and the Redis keys once this process is gone, and databases that earlier runs left
// behind are dropped at start (those older than an hour: a run in progress elsewhere keeps its own).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ADMIN_URL = process.env.E2E_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PREFIX = 'presence_e2e_';
const stamp = Date.now();
const database = `${PREFIX}${stamp}_${process.pid}`;
const port = process.env.PORT ?? '4173';

async function admin(fn) {
	const client = new pg.Client({ connectionString: ADMIN_URL });
	await client.connect();
	try {
		return await fn(client);
	} finally {
		await client.end();
	}
}

await admin(async (client) => {
	const { rows } = await client.query(
		`select datname from pg_database where datname like $1 || '%'`,
		[PREFIX]
	);
	for (const { datname } of rows) {
		const created = Number(datname.slice(PREFIX.length).split('_')[0]);
		if (Number.isFinite(created) && stamp - created > 3600_000) {
			await client.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
		}
	}
	await client.query(`create database "${database}"`);
});

const url = new URL(ADMIN_URL);
url.pathname = `/${database}`;

Object.assign(process.env, {
	NODE_ENV: 'production',
	HOST: '127.0.0.1',
	PORT: port,
	ORIGIN: `http://127.0.0.1:${port}`,
	SHUTDOWN_TIMEOUT: '2',
	DATABASE_URL: url.toString(),
	REDIS_URL: process.env.E2E_REDIS_URL ?? 'redis://127.0.0.1:6379',
	REDIS_KEY_PREFIX: `e2e:${stamp}:${process.pid}:`,
	SEED_DEMO: 'true',
	MIGRATE_ON_START: 'true',
	// Every spec signs in from 127.0.0.1, more than 20 times a minute.
	LOGIN_LIMIT_PER_MINUTE: '600',
	PRESENCE_GRACE_MS: '500',
	// 2.5 s, not 1 s: the server allows 30 heartbeats a minute per connection.
	PRESENCE_HEARTBEAT_INTERVAL_MS: '2500',
	PRESENCE_HEARTBEAT_TIMEOUT_MS: '8000',
	PRESENCE_LEASE_TTL_MS: '2000',
	PRESENCE_SWEEP_INTERVAL_MS: '200',
	// Short, so a spec can watch a tab go idle (capabilities.spec.ts); the inbox's status texts
	// that other specs read (the visitor panel's "Active"/"Online") do not change with idle.
	PRESENCE_IDLE_AFTER_MS: process.env.E2E_IDLE_AFTER_MS ?? '4000'
});

spawn(
	process.execPath,
	[
		fileURLToPath(new URL('./cleanup.mjs', import.meta.url)),
		String(process.pid),
		database,
		ADMIN_URL,
		process.env.REDIS_URL,
		process.env.REDIS_KEY_PREFIX
	],
	{ detached: true, stdio: 'ignore' }
).unref();

let dropping = false;
async function dropDatabase() {
	if (dropping) return;
	dropping = true;
	await admin((client) => client.query(`drop database if exists "${database}" with (force)`)).catch(
		(error) => console.warn(`[e2e] could not drop ${database}:`, error.message)
	);
}

// When stopped gently (Ctrl-C, SIGTERM): let the app close, then drop the database.
for (const signal of ['SIGINT', 'SIGTERM']) {
	process.once(signal, () => {
		setTimeout(() => void dropDatabase().finally(() => process.exit(0)), 1500);
	});
}

console.log(`[e2e] database ${database}; serving the build on http://127.0.0.1:${port}`);
await import('../../scripts/serve.js');
