import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, loginAgent, type PresenceClient } from '../../../src/lib/client/node';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../support/app-process';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { dropKeyPrefix, testKeyPrefix } from '../../support/redis';
import { testEnv } from '../../support/services';
import { openClientStream } from '../../support/client-stream';
import { waitFor } from '../../support/clock';

/**
 * docs/design.md §3 and §4 over real HTTP: two app processes on different ports sharing one
 * Redis and one Postgres, driven by the exported client from Node (EventSource from `eventsource`).
 */

let database: TestDatabase;
let prefix: string;
let nodeA: AppNode;
let nodeB: AppNode;
let ws: TestWorkspace;
let db: ReturnType<typeof createKysely>;

beforeAll(async () => {
	database = await createTestDatabase();
	prefix = testKeyPrefix();
	const env = testEnv(database, prefix);
	nodeA = await startAppNode(env);
	nodeB = await startAppNode(env);
	db = createKysely(database.url, 2);
	ws = await createWorkspace({ db, config: loadConfig(env) }, { agents: 1, visitors: 0 });
});

afterAll(async () => {
	await Promise.all([nodeA?.stop(), nodeB?.stop()]);
	await db?.destroy();
	await database?.drop();
	await dropKeyPrefix(prefix);
});

/** A heartbeating stream, with its `ready` event at hand. */
async function subscribe(client: PresenceClient) {
	const stream = openClientStream(client);
	return { ...stream, ready: await stream.ready };
}

/** A visitor who loaded the widget; with `writes`, one who began their conversation too. */
async function browsingVisitor(node: AppNode) {
	const anonymous = createClient({ url: node.trpcUrl, auth: null });
	const session = await anonymous.widget.session.mutate({ workspaceKey: ws.key });
	expect(session.conversationId).toBeNull(); // loading the widget makes no conversation
	return {
		session,
		client: createClient({ url: node.trpcUrl, auth: { visitorToken: session.visitorToken } })
	};
}

/** A visitor who wrote: the conversation begins with their first message (the widget's call). */
async function newVisitor(node: AppNode) {
	const { session, client } = await browsingVisitor(node);
	const { conversationId } = await client.widget.startConversation.mutate();
	return { session: { ...session, conversationId }, client };
}

async function agentOn(node: AppNode) {
	const agent = ws.agents[0]!;
	const cookie = await loginAgent(node.trpcUrl, agent.email, agent.password);
	return createClient({ url: node.trpcUrl, auth: { agentCookie: cookie } });
}

describe('two app nodes', () => {
	it('a visitor on node A is seen online by the agent on node B, offline after the grace, with lastSeenAt', async () => {
		const agentClient = await agentOn(nodeB);
		expect((await agentClient.auth.me.query()).id).toBe(ws.agents[0]!.id);
		const agent = await subscribe(agentClient);

		const { session, client } = await newVisitor(nodeA);
		// The agent's stream learns of the brand-new conversation, then of the visitor's presence.
		await agent.reader.next((e) => e.type === 'conversation' && e.visitorId === session.visitorId);
		const visitor = await subscribe(client);
		await agent.reader.presenceOf(session.visitorId, (e) => e.isOnline);

		const participants = await agentClient.conversations.participants.query({
			conversationId: session.conversationId
		});
		expect(participants.find((p) => p.id === session.visitorId)).toMatchObject({ isOnline: true });

		// No sticky sessions: node B serves a heartbeat for the connection node A holds.
		const onB = createClient({
			url: nodeB.trpcUrl,
			auth: { visitorToken: session.visitorToken }
		});
		expect(
			await onB.presence.heartbeat.mutate({ connectionId: visitor.ready.connectionId })
		).toEqual({ ok: true });

		visitor.unsubscribe();
		const offline = await agent.reader.presenceOf(session.visitorId, (e) => !e.isOnline);
		expect(offline.lastSeenAt).not.toBeNull();
		const row = await db
			.selectFrom('users')
			.select('last_seen_at')
			.where('id', '=', session.visitorId)
			.executeTakeFirstOrThrow();
		expect(row.last_seen_at).not.toBeNull();
		agent.unsubscribe();
	});

	it('the server-side generator finishes within a second when the client disconnects', async () => {
		const { client } = await newVisitor(nodeA);
		const before = await nodeA.metric('presence_streams_open');
		const visitor = await subscribe(client);
		expect(await nodeA.metric('presence_streams_open')).toBe(before + 1);
		// /metrics also shows the engine's side: the connection and the person behind it.
		expect(await nodeA.metric('presence_engine_local_connections')).toBeGreaterThanOrEqual(1);
		expect(await nodeA.metric('presence_engine_local_people')).toBeGreaterThanOrEqual(1);
		expect(await nodeA.metric('presence_engine_sweep_lag_seconds')).toBeLessThan(5);
		visitor.unsubscribe();
		const closedAt = Date.now();
		await waitFor(
			async () => (await nodeA.metric('presence_streams_open')) === before,
			'the metric',
			5000
		);
		expect(Date.now() - closedAt).toBeLessThan(1000);
	});

	it('a browsing visitor on node A (no conversation) is seen live by the agent on node B, page and all', async () => {
		const agentClient = await agentOn(nodeB);
		const agent = await subscribe(agentClient);
		const { session, client } = await browsingVisitor(nodeA);
		const visitor = await subscribe(client);
		await client.presence.page.mutate({
			connectionId: visitor.ready.connectionId,
			url: 'https://shop.example/kettles',
			title: 'Kettles'
		});
		await agent.reader.presenceOf(session.visitorId, (e) => e.currentPage?.title === 'Kettles');
		const online = await agentClient.visitors.online.query();
		expect(online.find((v) => v.id === session.visitorId)).toMatchObject({
			isOnline: true,
			conversationId: null,
			currentPage: { url: 'https://shop.example/kettles', title: 'Kettles' }
		});
		expect((await agentClient.conversations.list.query()).map((c) => c.visitor.id)).not.toContain(
			session.visitorId
		);
		visitor.unsubscribe();
		await agent.reader.presenceOf(session.visitorId, (e) => !e.isOnline);
		agent.unsubscribe();
	});

	it('a visitor never receives anything about another visitor', async () => {
		const first = await newVisitor(nodeA);
		const firstStream = await subscribe(first.client);
		const agent = await subscribe(await agentOn(nodeA));
		const second = await newVisitor(nodeB);
		const secondStream = await subscribe(second.client);
		await second.client.messages.send.mutate({
			conversationId: second.session.conversationId,
			body: 'private'
		});
		await second.client.presence.page.mutate({
			connectionId: secondStream.ready.connectionId,
			url: 'https://shop.example/secret',
			title: 'Secret page'
		});
		await agent.reader.presenceOf(
			second.session.visitorId,
			(e) => e.currentPage?.title === 'Secret page'
		);
		secondStream.unsubscribe();
		await agent.reader.presenceOf(second.session.visitorId, (e) => !e.isOnline);
		const seen = JSON.stringify(firstStream.reader.events);
		expect(seen).not.toContain(second.session.visitorId);
		expect(seen).not.toContain('private');
		expect(seen).not.toContain('Secret page');
		firstStream.unsubscribe();
		agent.unsubscribe();
	});

	it('messages: to an offline visitor (unread on return), to an online one (pushed), to a focused one (read at once)', async () => {
		const agentClient = await agentOn(nodeB);
		const agent = await subscribe(agentClient);
		const { session, client } = await newVisitor(nodeA);
		const conversationId = session.conversationId;

		const offline = await agentClient.messages.send.mutate({ conversationId, body: 'We are here' });
		expect(offline.delivered).toBe(false);

		const visitor = await subscribe(client);
		const [mine] = await client.conversations.list.query();
		expect(mine!.unread).toBe(1);

		const online = await agentClient.messages.send.mutate({ conversationId, body: 'Need help?' });
		expect(online.delivered).toBe(true);
		await visitor.reader.next((e) => e.type === 'message' && e.message.body === 'Need help?');

		await client.presence.focus.mutate({
			connectionId: visitor.ready.connectionId,
			conversationId
		});
		await agent.reader.presenceOf(session.visitorId, (e) => e.status === 'online');
		const focused = await agentClient.messages.send.mutate({ conversationId, body: 'Reading?' });
		await agent.reader.next(
			(e) =>
				e.type === 'read' && e.readerId === session.visitorId && e.at === focused.message.createdAt
		);
		visitor.unsubscribe();
		agent.unsubscribe();
	});

	it('bad input over HTTP is a 400 with a clear message', async () => {
		const response = await fetch(`${nodeA.trpcUrl}/widget.session`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ workspaceKey: '' })
		});
		expect(response.status).toBe(400);
		const unauthorized = await fetch(`${nodeA.trpcUrl}/auth.me`);
		expect(unauthorized.status).toBe(401);
	});
});
