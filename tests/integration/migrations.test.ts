import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKysely } from '../../src/server/db/connect';
import { migrateToLatest } from '../../src/server/db/migrate';
import { seedDemo, DEMO_AGENTS } from '../../src/server/db/seed';
import { createTestDatabase, type TestDatabase } from '../support/database';

describe('migrations', () => {
	let database: TestDatabase;
	let db: ReturnType<typeof createKysely>;

	beforeAll(async () => {
		database = await createTestDatabase();
		db = createKysely(database.url, 2);
	});
	afterAll(async () => {
		await db.destroy();
		await database.drop();
	});

	it('build every table from an empty database', async () => {
		const applied = await migrateToLatest(db);
		expect(applied).toEqual([
			'0001_initial',
			'0002_sessions',
			'0003_delivered',
			'0004_availability',
			'0005_search',
			'0006_users_fillfactor'
		]);
		const tables = await sql<{ table_name: string }>`
			select table_name from information_schema.tables
			where table_schema = 'public' and table_name not like 'kysely_%' order by table_name
		`.execute(db);
		expect(tables.rows.map((r) => r.table_name)).toEqual([
			'conversation_participants',
			'conversations',
			'messages',
			'sessions',
			'users',
			'workspaces'
		]);
	});

	it("leave room in users' pages, so last_seen_at writes are updated in place", async () => {
		// A HOT update needs free space on the row's page; the rows written below get it.
		const options = await sql<{ reloptions: string[] | null }>`
			select reloptions from pg_class where relname = 'users'
		`.execute(db);
		expect(options.rows[0]?.reloptions).toContain('fillfactor=80');
	});

	it('are a no-op when run again', async () => {
		expect(await migrateToLatest(db)).toEqual([]);
	});

	it('seed the demo once, however often seeding runs', async () => {
		const quiet = { info: () => {} };
		await seedDemo(db, quiet);
		await seedDemo(db, quiet);
		const agents = await db
			.selectFrom('users')
			.select('email')
			.where('kind', '=', 'agent')
			.execute();
		expect(agents.map((a) => a.email).sort()).toEqual(DEMO_AGENTS.map((a) => a.email).sort());
		const conversations = await db.selectFrom('conversations').select('id').execute();
		expect(conversations.length).toBeGreaterThanOrEqual(200);
		// Names people can tell apart, stable from one fresh seed to the next.
		const names = await db
			.selectFrom('users')
			.select('display_name')
			.where('kind', '=', 'visitor')
			.orderBy('created_at')
			.orderBy('display_name')
			.execute();
		expect(new Set(names.map((n) => n.display_name)).size).toBe(names.length);
		expect(names.every((n) => /^[A-Z][a-z]+ [A-Z][a-z]+$/.test(n.display_name))).toBe(true);
	});

	it('refuse an agent without credentials and a second agent with the same email', async () => {
		const ws = await db.selectFrom('workspaces').select('id').executeTakeFirstOrThrow();
		await expect(
			db
				.insertInto('users')
				.values({ workspace_id: ws.id, kind: 'agent', display_name: 'No password' })
				.execute()
		).rejects.toThrow(/agents_have_credentials/);
		await expect(
			db
				.insertInto('users')
				.values({
					workspace_id: ws.id,
					kind: 'agent',
					display_name: 'Copy',
					email: DEMO_AGENTS[0].email.toUpperCase(),
					password_hash: 'x'
				})
				.execute()
		).rejects.toThrow(/users_agent_email/);
	});

	it('keep availability to agents and to its three values', async () => {
		const visitor = await db
			.selectFrom('users')
			.select('id')
			.where('kind', '=', 'visitor')
			.executeTakeFirstOrThrow();
		await expect(
			db.updateTable('users').set({ availability: 'away' }).where('id', '=', visitor.id).execute()
		).rejects.toThrow(/users_availability/);
		await expect(
			db
				.updateTable('users')
				.set({ availability: 'asleep' as 'away' })
				.where('kind', '=', 'agent')
				.execute()
		).rejects.toThrow(/users_availability/);
	});
});
