import { TEST_TIMINGS } from '../../support/timings';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { createClient, loginAgent, type PresenceClient } from '../../../src/lib/client/node';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../support/app-process';
import { openClientStream } from '../../support/client-stream';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { startRedisCluster, type RedisClusterHandle } from '../../support/redis-server';
import { testKeyPrefix } from '../../support/redis';
import { testEnv } from '../../support/services';

/**
 * The app on a Redis Cluster: two app processes from the build with REDIS_CLUSTER_NODES set
 * (and no REDIS_URL) sharing a 3-master cluster the test starts, driven over HTTP by the
 * exported client. Presence, the workspace event bus, the rate limiter, previews and /healthz
 * all go through ioredis `Cluster` clients.
 */

const PNG = Buffer.from(
	'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
	'base64'
);

let cluster: RedisClusterHandle | undefined;
let database: TestDatabase | undefined;
let nodeA: AppNode | undefined;
let nodeB: AppNode | undefined;
let db: ReturnType<typeof createKysely> | undefined;
let inspector: Cluster | undefined;
let prefix: string;
let ws: TestWorkspace;

beforeAll(async () => {
	cluster = await startRedisCluster(3);
	database = await createTestDatabase();
	prefix = testKeyPrefix();
	const env = testEnv(database, prefix, {
		REDIS_URL: '',
		REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')
	});
	[nodeA, nodeB] = await Promise.all([startAppNode(env), startAppNode(env)]);
	db = createKysely(database.url, 2);
	ws = await createWorkspace({ db, config: loadConfig(env) }, { agents: 1, visitors: 0 });
	inspector = new Cluster(cluster.nodes, { lazyConnect: true });
	inspector.on('error', () => {});
	await inspector.connect();
}, 60_000);

afterAll(async () => {
	// Each step on its own: a failed start must still tear down what did start.
	await Promise.allSettled([nodeA?.stop(), nodeB?.stop()]);
	inspector?.disconnect();
	await db?.destroy().catch(() => {});
	await database?.drop().catch(() => {});
	await cluster?.cleanup();
}, 30_000);

async function subscribe(client: PresenceClient) {
	const stream = openClientStream(client);
	return { ...stream, ready: await stream.ready };
}

/** Keys under the test prefix on every master of the cluster (SCAN, per node). */
async function clusterKeys(pattern: string): Promise<string[]> {
	const keys: string[] = [];
	for (const node of inspector!.nodes('master')) {
		let cursor = '0';
		do {
			const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
			cursor = next;
			keys.push(...found);
		} while (cursor !== '0');
	}
	return keys;
}

describe('two app nodes on a Redis Cluster', () => {
	it('both nodes run the redis backend on the cluster, and /healthz says redis ok', async () => {
		for (const node of [nodeA!, nodeB!]) {
			expect(node.output.join('')).toContain('[presence] redis backend at cluster 127.0.0.1:');
			const response = await fetch(`${node.url}/healthz`);
			expect(response.status).toBe(200);
			expect(await response.json()).toEqual({ postgres: 'ok', redis: 'ok' });
		}
	});

	it('a visitor on node A: online then offline after the grace for the agent on node B; messages reach the visitor', async () => {
		const agentEntry = ws.agents[0]!;
		const cookie = await loginAgent(nodeB!.trpcUrl, agentEntry.email, agentEntry.password);
		const agentClient = createClient({ url: nodeB!.trpcUrl, auth: { agentCookie: cookie } });
		const agent = await subscribe(agentClient);

		const anonymous = createClient({ url: nodeA!.trpcUrl, auth: null });
		const browsing = await anonymous.widget.session.mutate({ workspaceKey: ws.key });
		const visitorClient = createClient({
			url: nodeA!.trpcUrl,
			auth: { visitorToken: browsing.visitorToken }
		});
		// The conversation begins when the visitor writes (the widget's call before the first
		// message); workspace events cross nodes through the cluster: it reaches B.
		expect(browsing.conversationId).toBeNull();
		const { conversationId } = await visitorClient.widget.startConversation.mutate();
		const session = { ...browsing, conversationId };
		await agent.reader.next((e) => e.type === 'conversation' && e.visitorId === session.visitorId);
		const visitor = await subscribe(visitorClient);
		await agent.reader.presenceOf(session.visitorId, (e) => e.isOnline);

		// The presence keys are on the cluster, under the workspace's hash tag.
		expect(await clusterKeys(`${prefix}{${ws.id}}:s:${session.visitorId}`)).toHaveLength(1);

		// Agent on B -> visitor on A, over the event bus.
		const sent = await agentClient.messages.send.mutate({
			conversationId: session.conversationId,
			body: 'Hello from node B'
		});
		expect(sent.delivered).toBe(true);
		const message = await visitor.reader.next(
			(e) => e.type === 'message' && e.message.body === 'Hello from node B'
		);
		expect(message).toMatchObject({ type: 'message' });

		// Previews: stored on the cluster through A, read through B; the spacing is shared.
		await visitorClient.presence.preview.mutate({
			connectionId: visitor.ready.connectionId,
			image: PNG.toString('base64')
		});
		const preview = await agentClient.presence.previewImage.query({ userId: session.visitorId });
		expect(preview?.dataUrl).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
		const onB = createClient({
			url: nodeB!.trpcUrl,
			auth: { visitorToken: session.visitorToken }
		});
		await expect(
			onB.presence.preview.mutate({
				connectionId: visitor.ready.connectionId,
				image: PNG.toString('base64')
			})
		).resolves.toMatchObject({ stored: false });
		expect((await clusterKeys(`${prefix}rate:*`)).length).toBeGreaterThan(0);

		const closedAt = Date.now();
		visitor.unsubscribe();
		const offline = await agent.reader.presenceOf(session.visitorId, (e) => !e.isOnline);
		// Not before the grace (a little clock slack between Redis and this process).
		expect(Date.now() - closedAt).toBeGreaterThanOrEqual(TEST_TIMINGS.graceMs - 20);
		expect(offline.lastSeenAt).not.toBeNull();
		agent.unsubscribe();
	});
});
