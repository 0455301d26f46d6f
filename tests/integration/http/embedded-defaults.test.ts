import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, loginAgent } from '../../../src/lib/client/node';
import { DEMO_AGENTS } from '../../../src/server/db/seed';
import { freePort, startAppNode, type AppNode } from '../../support/app-process';
import { openClientStream } from '../../support/client-stream';

/**
 * docs/design.md §7: with nothing configured and nothing on the local ports, the app still
 * starts — on the embedded Postgres and the single-process presence backend.
 */

let dir: string;
let node: AppNode;

beforeAll(async () => {
	dir = await mkdtemp(path.join(tmpdir(), 'presence-embedded-app-'));
	// As root, Postgres runs as a `postgres` user that must be able to enter the folder.
	await chmod(dir, 0o755);
	node = await startAppNode({
		DATABASE_URL: '',
		REDIS_URL: '',
		// Port 1 never answers: this is "nothing on localhost:5432 / 6379".
		LOCAL_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/presence',
		LOCAL_REDIS_URL: 'redis://127.0.0.1:1',
		EMBEDDED_PG_DIR: path.join(dir, 'pg'),
		EMBEDDED_PG_PORT: String(await freePort()),
		SEED_DEMO: 'true',
		PRESENCE_GRACE_MS: '200'
	});
});

afterAll(async () => {
	await node?.stop();
	await rm(dir, { recursive: true, force: true });
});

describe('embedded defaults', () => {
	it('serve the seeded demo on the embedded Postgres and the single-process presence backend', async () => {
		const health = await (await fetch(`${node.url}/healthz`)).json();
		expect(health).toEqual({ postgres: 'ok', redis: 'single-process' });
		expect(node.output.join('')).toMatch(/embedded Postgres/);
		expect(node.output.join('')).toMatch(/single-process presence backend/);

		const { email, password } = DEMO_AGENTS[0];
		const cookie = await loginAgent(node.trpcUrl, email, password);
		const agent = createClient({ url: node.trpcUrl, auth: { agentCookie: cookie } });
		expect((await agent.auth.me.query()).email).toBe(email);

		const { reader, ...agentStream } = openClientStream(agent);
		await agentStream.ready;
		const visitorSession = await createClient({
			url: node.trpcUrl,
			auth: null
		}).widget.session.mutate({
			workspaceKey: 'demo'
		});
		const visitor = createClient({
			url: node.trpcUrl,
			auth: { visitorToken: visitorSession.visitorToken }
		});
		const visitorStream = openClientStream(visitor);
		await reader.presenceOf(visitorSession.visitorId, (e) => e.isOnline);
		visitorStream.unsubscribe();
		await reader.presenceOf(visitorSession.visitorId, (e) => !e.isOnline);
		agentStream.unsubscribe();
	});
});
