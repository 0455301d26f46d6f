import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** A Postgres database of its own for one test file, dropped afterwards. */

export const TEST_POSTGRES_URL =
	process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
	name: string;
	url: string;
	drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
	const name = `t_${randomUUID().replace(/-/g, '')}`;
	const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
	await admin.connect();
	await admin.query(`create database ${name}`);
	await admin.end();
	const url = new URL(TEST_POSTGRES_URL);
	url.pathname = `/${name}`;
	return {
		name,
		url: url.toString(),
		async drop() {
			const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
			await client.connect();
			await client.query(`drop database if exists ${name} with (force)`);
			await client.end();
		}
	};
}
