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

/**
 * Messages sent while Redis is away are stored but their live events are lost: the open
 * streams must learn it (`resync`) so the inbox refetches, on the node that failed to publish
 * and on the others, and live delivery must work again afterwards.
 */

let database: TestDatabase;
let redis: RedisServerHandle;
let a: AppNode;
let b: AppNode;
let db: ReturnType<typeof createKysely>;
let ws: TestWorkspace;

beforeAll(async () => {
	database = await createTestDatabase();
	redis = await startRedisServer();
	const env = testEnv(database, 'outage-events:', {
		REDIS_URL: redis.url,
		REDIS_COMMAND_TIMEOUT_MS: '300',
		PRESENCE_HEARTBEAT_TIMEOUT_MS: '10000',
		PRESENCE_HEARTBEAT_INTERVAL_MS: '500'
	});
	[a, b] = await Promise.all([startAppNode(env), startAppNode(env)]);
	db = createKysely(database.url, 2);
	ws = await createWorkspace({ db, config: loadConfig(env) }, { agents: 1, visitors: 1 });
});

afterAll(async () => {
	await Promise.all([a?.stop(), b?.stop()]);
	await redis?.cleanup();
	await db?.destroy();
	await database?.drop();
});

describe('workspace events across a Redis outage', () => {
	it('a message stored while Redis was away reaches the open inbox through a resync', async () => {
		onTestFailed(() => console.log('NODE A', a.output.join(''), '\nNODE B', b.output.join('')));
		const agent = ws.agents[0]!;
		const visitor = ws.visitors[0]!;
		const agentClient = createClient({
			url: b.trpcUrl,
			auth: { agentCookie: await loginAgent(b.trpcUrl, agent.email, agent.password) }
		});
		const agentStream = openClientStream(agentClient);
		await agentStream.ready;
		const visitorClient = createClient({
			url: a.trpcUrl,
			auth: { visitorToken: visitor.visitorToken }
		});
		const visitorStream = openClientStream(visitorClient);
		await visitorStream.ready;

		await redis.kill();
		const bodies = ['one', 'two', 'three', 'four'];
		const sent = [];
		for (const body of bodies) {
			sent.push(
				await visitorClient.messages.send.mutate({ conversationId: visitor.conversationId, body })
			);
		}
		await redis.restart();

		// The agent's stream (on the other node) is told it missed something...
		await agentStream.reader.next((e) => e.type === 'resync', 20_000);
		// ...and what the inbox then refetches holds every acknowledged message.
		const page = await agentClient.messages.list.query({ conversationId: visitor.conversationId });
		const ids = page.messages.map((m) => m.id);
		for (const { message } of sent) expect(ids).toContain(message.id);
		expect(agentStream.lost()).toBe(false);

		// Live delivery is back on both nodes' subscriptions.
		const after = await visitorClient.messages.send.mutate({
			conversationId: visitor.conversationId,
			body: 'after'
		});
		const live = await agentStream.reader.next(
			(e) => e.type === 'message' && e.message.id === after.message.id,
			20_000
		);
		expect(live).toMatchObject({ type: 'message', message: { body: 'after' } });
		agentStream.unsubscribe();
		visitorStream.unsubscribe();
	});
});
