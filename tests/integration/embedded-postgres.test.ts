import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { connectDatabase } from '../../src/server/db/connect';
import { migrateToLatest } from '../../src/server/db/migrate';
import { freePort } from '../support/app-process';

describe('embedded Postgres (docs/design.md §7)', () => {
	it('starts when DATABASE_URL is unset and nothing answers on the local port', async () => {
		const dir = await mkdtemp(path.join(tmpdir(), 'presence-embedded-'));
		// As root, Postgres runs as a `postgres` user that must be able to enter the folder.
		await chmod(dir, 0o755);
		const logs: string[] = [];
		const handle = await connectDatabase({
			// Port 1 never has a Postgres: this is "nothing on localhost:5432".
			localUrl: 'postgres://postgres@127.0.0.1:1/presence',
			embeddedDir: path.join(dir, 'pg'),
			// A port nothing holds now: a random one in 20,000-40,000 can be a socket's ephemeral port
			// (Linux hands those out from 32,768), and Postgres then fails to start.
			embeddedPort: await freePort(),
			logger: { info: (line: string) => logs.push(line), warn: () => {} }
		});
		try {
			expect(handle.embedded).toBe(true);
			expect(logs.join('\n')).toMatch(/embedded Postgres/);
			expect(await migrateToLatest(handle.db)).toEqual([
				'0001_initial',
				'0002_sessions',
				'0003_delivered',
				'0004_availability',
				'0005_search',
				'0006_users_fillfactor'
			]);
			const row = await sql<{ n: number }>`select count(*)::int as n from workspaces`.execute(
				handle.db
			);
			expect(row.rows[0]?.n).toBe(0);
		} finally {
			await handle.close();
			await rm(dir, { recursive: true, force: true });
		}
	});
});
