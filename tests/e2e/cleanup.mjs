// Drops what one e2e server made (its Postgres database and its Redis keys) once that server is
// gone. Playwright ends the server with SIGKILL, so the server starts this watchdog detached
// (its own process group) and it polls for the server's exit. Bounded: gives up after 3 hours.
import { Redis } from 'ioredis';
import pg from 'pg';

const [serverPid, database, adminUrl, redisUrl, redisPrefix] = process.argv.slice(2);
const deadline = Date.now() + 3 * 3600_000;

function alive(pid) {
	try {
		process.kill(Number(pid), 0);
		return true;
	} catch (error) {
		return error.code === 'EPERM';
	}
}

while (alive(serverPid) && Date.now() < deadline) {
	await new Promise((resolve) => setTimeout(resolve, 500));
}

const client = new pg.Client({ connectionString: adminUrl });
try {
	await client.connect();
	await client.query(`drop database if exists "${database}" with (force)`);
} catch {
	// The next run drops databases older than an hour.
} finally {
	await client.end().catch(() => {});
}

if (redisUrl && redisPrefix) {
	const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
	try {
		await redis.connect();
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
			cursor = next;
			if (keys.length) await redis.unlink(...keys);
		} while (cursor !== '0');
	} catch {
		// Keys of a test run mostly expire by themselves.
	} finally {
		redis.disconnect();
	}
}
