import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createClient, loginAgent } from '../../../src/lib/client/node';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../support/app-process';
import { openClientStream } from '../../support/client-stream';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { testEnv } from '../../support/services';
import { waitFor } from '../../support/clock';

/**
 * docs/design.md §2, as a user of the product sees it: Redis dies under a running app node.
 * Reads answer offline ("when in doubt, assume they are gone"), nothing fails, streams stay
 * open; Redis comes back empty and everyone converges without a reload.
 */

let database: TestDatabase;
let redis: RedisServerHandle;
let node: AppNode;
let db: ReturnType<typeof createKysely>;
let ws: TestWorkspace;

beforeAll(async () => {
	database = await createTestDatabase();
	redis = await startRedisServer();
	const env = testEnv(database, 'outage:', {
		REDIS_URL: redis.url,
		REDIS_COMMAND_TIMEOUT_MS: '300',
		PRESENCE_HEARTBEAT_TIMEOUT_MS: '10000',
		PRESENCE_HEARTBEAT_INTERVAL_MS: '500'
	});
	node = await startAppNode(env);
	db = createKysely(database.url, 2);
	ws = await createWorkspace({ db, config: loadConfig(env) }, { agents: 1, visitors: 1 });
});

afterAll(async () => {
	await node?.stop();
	await redis?.cleanup();
	await db?.destroy();
	await database?.drop();
});

describe('Redis outage under a running node', () => {
	it('reads say offline without errors, streams stay open, and presence converges when Redis returns empty', async () => {
		onTestFailed(() => console.log('NODE OUTPUT', node.output.join('')));
		const agent = ws.agents[0]!;
		const visitor = ws.visitors[0]!;
		const cookie = await loginAgent(node.trpcUrl, agent.email, agent.password);
		const agentClient = createClient({ url: node.trpcUrl, auth: { agentCookie: cookie } });
		const agentStream = openClientStream(agentClient);
		await agentStream.ready;
		const visitorStream = openClientStream(
			createClient({ url: node.trpcUrl, auth: { visitorToken: visitor.visitorToken } })
		);
		await visitorStream.ready;
		const online = await agentStream.reader.presenceOf(visitor.id, (e) => e.isOnline);

		await redis.kill();
		const participants = () =>
			agentClient.conversations.participants.query({ conversationId: visitor.conversationId });
		const during = await participants();
		expect(during.find((p) => p.id === visitor.id)).toMatchObject({
			isOnline: false,
			status: 'offline'
		});
		const health = await fetch(`${node.url}/healthz`);
		expect(health.status).toBe(503);
		expect(await health.json()).toMatchObject({ redis: 'down', postgres: 'ok' });
		// A message still goes through: it is stored; live delivery resumes with Redis.
		const sent = await agentClient.messages.send.mutate({
			conversationId: visitor.conversationId,
			body: 'Still here'
		});
		expect(sent.message.body).toBe('Still here');
		// A tab opened during the outage still gets its stream, everyone shown offline.
		const lateTab = openClientStream(agentClient);
		const lateReady = await lateTab.ready;
		expect(lateReady.snapshot.find((p) => p.userId === visitor.id)).toMatchObject({
			isOnline: false
		});
		await new Promise((r) => setTimeout(r, 1500));
		expect(agentStream.lost()).toBe(false);
		expect(visitorStream.lost()).toBe(false);

		await redis.restart();
		// The node re-registers its live connections: the visitor is online again, in reads
		// and on the agent's stream (a newer version than before the outage).
		await waitFor(
			async () => (await participants()).find((p) => p.id === visitor.id)?.isOnline,
			'the participant',
			20_000
		);
		const back = await agentStream.reader.presenceOf(
			visitor.id,
			(e) => e.isOnline && e.version > online.version
		);
		expect(back.status).toBe('active');
		expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
		expect(agentStream.lost()).toBe(false);
		// The tab opened during the outage converges too: its channel subscription completed.
		await lateTab.reader.presenceOf(visitor.id, (e) => e.isOnline);
		lateTab.unsubscribe();
		agentStream.unsubscribe();
		visitorStream.unsubscribe();
	});
});
