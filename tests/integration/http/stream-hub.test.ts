import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, loginAgent } from '../../../src/lib/client/node';
import type { StreamEvent } from '../../../src/lib/contract';
import { loadConfig } from '../../../src/server/config';
import { createKysely } from '../../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../support/app-process';
import { openClientStream } from '../../support/client-stream';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { dropKeyPrefix, testKeyPrefix } from '../../support/redis';
import { openRawStream } from '../../support/sse-reader';
import { waitFor } from '../../support/clock';
import { testEnv } from '../../support/services';

/**
 * The production entry's stream hub as the stock tRPC client sees it (`httpSubscriptionLink`
 * with `eventsource`): typed `ready`, deltas with ids, resume after a server-side close, and
 * refusals as tRPC's own serialized errors.
 */

let database: TestDatabase;
let prefix: string;
let node: AppNode;
let db: ReturnType<typeof createKysely>;
let ws: TestWorkspace;

beforeAll(async () => {
	database = await createTestDatabase();
	prefix = testKeyPrefix();
	const env = testEnv(database, prefix, { STREAM_LIMIT_PER_PERSON: '2' });
	node = await startAppNode(env);
	db = createKysely(database.url, 2);
	ws = await createWorkspace({ db, config: loadConfig(env) }, { agents: 1, visitors: 4 });
});

afterAll(async () => {
	await node?.stop();
	await db?.destroy();
	await database?.drop();
	await dropKeyPrefix(prefix);
});

function visitorClient(index: number) {
	return createClient({
		url: node.trpcUrl,
		auth: { visitorToken: ws.visitors[index]!.visitorToken }
	});
}

/** Subscribes with the stock client and records what the link hands over. */
function subscribe(client: ReturnType<typeof createClient>) {
	const seen: { id?: string; data: StreamEvent }[] = [];
	const outcome: { error: unknown; completed: boolean } = { error: null, completed: false };
	const sub = client.presence.connect.subscribe(undefined, {
		onData: (envelope) => seen.push(envelope),
		onError: (error) => (outcome.error = error),
		onComplete: () => (outcome.completed = true)
	});
	return { seen, outcome, unsubscribe: () => sub.unsubscribe() };
}

describe('the stream hub with the stock tRPC client', () => {
	it('ready first (typed, with an id), then deltas with ids', async () => {
		const agent = ws.agents[0]!;
		const cookie = await loginAgent(node.trpcUrl, agent.email, agent.password);
		const stream = subscribe(createClient({ url: node.trpcUrl, auth: { agentCookie: cookie } }));
		const ready = await waitFor(() => stream.seen[0]);
		expect(ready.data.type).toBe('ready');
		expect(ready.id).toMatch(/^[\w-]+-\d+$/);
		if (ready.data.type !== 'ready') throw new Error('unreachable');
		expect(ready.data.snapshot.map((p) => p.userId)).toContain(ws.visitors[0]!.id);

		const visitor = openClientStream(visitorClient(0));
		await visitor.ready;
		const online = await waitFor(() =>
			stream.seen.find(
				(e) => e.data.type === 'presence' && e.data.userId === ws.visitors[0]!.id && e.data.isOnline
			)
		);
		expect(online.id).toMatch(/^[\w-]+-\d+$/);
		expect(online.id).not.toBe(ready.id);
		visitor.unsubscribe();
		stream.unsubscribe();
	});

	it('UNAUTHORIZED without identity: the link errors with the code and does not retry', async () => {
		const stream = subscribe(createClient({ url: node.trpcUrl, auth: null }));
		const error = await waitFor(() => stream.outcome.error);
		expect(error).toBeInstanceOf(TRPCClientError);
		expect((error as TRPCClientError<never>).data).toMatchObject({
			code: 'UNAUTHORIZED',
			httpStatus: 401,
			path: 'presence.connect'
		});
		expect(stream.seen).toEqual([]);
		stream.unsubscribe();
	});

	it('signing out ends the streams of that session with UNAUTHORIZED, not the others', async () => {
		const agent = ws.agents[0]!;
		const signedOut = createClient({
			url: node.trpcUrl,
			auth: { agentCookie: await loginAgent(node.trpcUrl, agent.email, agent.password) }
		});
		const other = createClient({
			url: node.trpcUrl,
			auth: { agentCookie: await loginAgent(node.trpcUrl, agent.email, agent.password) }
		});
		const ending = subscribe(signedOut);
		const staying = subscribe(other);
		await waitFor(() => ending.seen[0] && staying.seen[0]);
		await signedOut.auth.logout.mutate();
		const error = await waitFor(() => ending.outcome.error);
		expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'UNAUTHORIZED' });
		await new Promise((r) => setTimeout(r, 300));
		expect(staying.outcome).toEqual({ error: null, completed: false });
		ending.unsubscribe();
		staying.unsubscribe();
	});

	it('TOO_MANY_REQUESTS past STREAM_LIMIT_PER_PERSON; a closed stream frees its place', async () => {
		const first = subscribe(visitorClient(1));
		const second = subscribe(visitorClient(1));
		await waitFor(() => first.seen[0] && second.seen[0]);
		const third = subscribe(visitorClient(1));
		const error = await waitFor(() => third.outcome.error);
		expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'TOO_MANY_REQUESTS' });

		first.unsubscribe();
		await waitFor(async () => (await node.metric('presence_streams_open')) <= 1);
		const again = subscribe(visitorClient(1));
		await waitFor(() => again.seen[0]?.data.type === 'ready');
		second.unsubscribe();
		again.unsubscribe();
	});

	it('a connection that expires is closed without `return`: the link comes back by itself', async () => {
		// No heartbeat: the engine declares the connection dead after the heartbeat timeout.
		const stream = subscribe(visitorClient(2));
		const ready = await waitFor(() => stream.seen.find((e) => e.data.type === 'ready'));
		const back = await waitFor(
			() =>
				stream.seen.find(
					(e) => e !== ready && (e.data.type === 'resumed' || e.data.type === 'ready')
				),
			'the stream back',
			15_000
		);
		expect(stream.outcome).toEqual({ error: null, completed: false });
		const first = ready.data.type === 'ready' ? ready.data.connectionId : null;
		expect(back.data.type === 'resumed' || back.data.type === 'ready').toBe(true);
		expect((back.data as { connectionId: string }).connectionId).not.toBe(first);
		stream.unsubscribe();
	});
});

describe('resuming over the raw wire', () => {
	it('a client back with its last event id gets `resumed` and exactly what it missed', async () => {
		const agent = ws.agents[0]!;
		const visitor = ws.visitors[3]!;
		// The agent's stream keeps the workspace listened on this node while the visitor is away.
		const agentStream = openRawStream(node.trpcUrl, { sessionToken: agent.sessionToken });
		await agentStream.value('ready');

		const away = openRawStream(node.trpcUrl, { visitorToken: visitor.visitorToken });
		const ready = await away.value('ready');
		away.close();

		const agentClient = createClient({
			url: node.trpcUrl,
			auth: { agentCookie: await loginAgent(node.trpcUrl, agent.email, agent.password) }
		});
		const sent = await agentClient.messages.send.mutate({
			conversationId: visitor.conversationId,
			body: 'while you were away'
		});

		const back = openRawStream(
			node.trpcUrl,
			{ visitorToken: visitor.visitorToken },
			{ 'last-event-id': ready.id! }
		);
		const resumed = await back.value('resumed');
		expect(resumed.value).toMatchObject({ type: 'resumed' });
		const missed = await back.value('message');
		expect(missed.value).toMatchObject({ type: 'message', message: { id: sent.message.id } });
		expect(back.values().filter((v) => v.type === 'ready')).toEqual([]);
		// Ids keep growing, so a further reconnect resumes after the message.
		expect(Number(missed.id!.split('-').pop())).toBeGreaterThan(Number(ready.id!.split('-').pop()));

		// An id this node cannot serve (another node's, or too old): a fresh snapshot instead.
		const foreign = openRawStream(
			node.trpcUrl,
			{ visitorToken: visitor.visitorToken },
			{ 'last-event-id': 'elsewhere-12' }
		);
		expect((await foreign.value('ready')).value).toMatchObject({ type: 'ready' });
		for (const s of [agentStream, back, foreign]) s.close();
	});
});
