import pg from 'pg';
import { probeRedis } from '../../src/server/redis/clients';
import { TEST_POSTGRES_URL } from './database';
import { TEST_REDIS_URL } from './redis';

/** Integration tests need the real services: say so clearly instead of failing 50 tests obscurely. */
export default async function () {
	const client = new pg.Client({
		connectionString: TEST_POSTGRES_URL,
		connectionTimeoutMillis: 3000
	});
	try {
		await client.connect();
	} catch (error) {
		throw new Error(
			`Integration tests need PostgreSQL at ${TEST_POSTGRES_URL} (set TEST_DATABASE_URL): ${(error as Error).message}`,
			{ cause: error }
		);
	} finally {
		await client.end().catch(() => {});
	}
	if (!(await probeRedis(TEST_REDIS_URL, 3000))) {
		throw new Error(`Integration tests need Redis at ${TEST_REDIS_URL} (set TEST_REDIS_URL)`);
	}
}
