import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKysely } from '../../src/server/db/connect';
import { prepared } from '../../src/server/db/prepared';
import { createTestDatabase, type TestDatabase } from '../support/database';

describe('prepared statements (a hot query planned once per connection)', () => {
	let database: TestDatabase;
	// One connection, so every query below meets the same session's statements.
	let db: ReturnType<typeof createKysely>;

	beforeAll(async () => {
		database = await createTestDatabase();
		db = createKysely(database.url, 1);
	});
	afterAll(async () => {
		await db.destroy();
		await database.drop();
	});

	const statements = async () =>
		(
			await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(db)
		).rows.map((r) => r.name);

	it('a marked query runs as one named statement, with each call its own values', async () => {
		const square = (n: number) =>
			sql<{ n: number }>`${prepared('probe-square')} select ${n}::int * ${n}::int as n`.execute(db);
		expect((await square(3)).rows).toEqual([{ n: 9 }]);
		expect((await square(4)).rows).toEqual([{ n: 16 }]);
		expect(await statements()).toEqual(['probe-square']);
	});

	it('an unmarked query is not kept', async () => {
		await sql`select ${1}::int as n`.execute(db);
		expect(await statements()).toEqual(['probe-square']);
	});
});
