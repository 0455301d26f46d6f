import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamHub, type StreamHub } from '../../../src/server/streams';
import { createWorkspace, type TestWorkspace } from '../../support/fixtures';
import { useTestServices } from '../../support/services';
import { openRawStream, type RawStream } from '../../support/sse-reader';
import { waitFor } from '../../support/clock';

/**
 * The hub indexes streams by audience: a change of one person is written to the streams that
 * may see them, and to no other, however many streams the node holds.
 */

// Raw streams do not heartbeat: a long timeout keeps them live for the test.
const t = useTestServices({
	PRESENCE_HEARTBEAT_INTERVAL_MS: '25000',
	PRESENCE_HEARTBEAT_TIMEOUT_MS: '60000'
});
let hub: StreamHub;
let server: Server;
let url: string;
let ws: TestWorkspace;
const fanouts: number[] = [];

beforeAll(async () => {
	hub = createStreamHub(t.services).start();
	server = createServer((req, res) => void hub.serve(req, res));
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
	ws = await createWorkspace(t.services, { agents: 1, visitors: 30 });
	// Every fan-out reports how many streams it wrote to.
	const { metrics } = t.services;
	const fanout = metrics.fanout.bind(metrics);
	metrics.fanout = (seconds, streams) => {
		fanouts.push(streams);
		fanout(seconds, streams);
	};
});

afterAll(async () => {
	hub?.stop();
	server?.closeAllConnections();
	await new Promise((resolve) => server?.close(resolve));
});

describe('the hub wakes only the streams that may see a change', () => {
	it('a visitor’s page: their agent’s stream and their own; the other visitors’ streams nothing', async () => {
		const agent = openRawStream(url, { sessionToken: ws.agents[0]!.sessionToken });
		const visitors: RawStream[] = ws.visitors.map((v) =>
			openRawStream(url, { visitorToken: v.visitorToken })
		);
		await agent.value('ready');
		const readies = await Promise.all(visitors.map((v) => v.value('ready')));
		const [first] = ws.visitors;
		// Let every connect's own online change pass before counting.
		const onlineFor = (stream: RawStream, userId: string) =>
			stream
				.values()
				.flatMap((e) => (e.type === 'ready' ? e.snapshot : e.type === 'presence' ? [e] : []))
				.filter((p) => p.userId === userId)
				.sort((a, b) => b.version - a.version)[0]?.isOnline === true;
		await waitFor(() => ws.visitors.every((v) => onlineFor(agent, v.id)));
		await new Promise((r) => setTimeout(r, 200));
		fanouts.length = 0;

		const connectionId = (readies[0]!.value as { connectionId: string }).connectionId;
		await t.services.presence.page(connectionId, { url: 'https://shop.test/cart', title: 'Cart' });
		const seen = await agent.next(
			(e) => e.value?.type === 'presence' && e.value.currentPage?.title === 'Cart'
		);
		expect(seen.value).toMatchObject({ userId: first!.id });
		await visitors[0]!.next(
			(e) =>
				e.value?.type === 'presence' && e.value.userId === first!.id && e.value.currentPage !== null
		);
		await new Promise((r) => setTimeout(r, 200));

		// One fan-out of two streams: the agent's and the visitor's own, of the 31 open.
		expect(hub.size).toBe(31);
		expect(fanouts).toEqual([2]);
		for (const other of visitors.slice(1)) {
			expect(other.values().filter((e) => e.type === 'presence' && e.userId === first!.id)).toEqual(
				[]
			);
		}

		// The agent focusing the first visitor’s conversation reaches all 31 streams, in two
		// copies: `online` where that conversation is the viewer's (the visitor's and the agent's
		// own stream), `active` for the 29 other visitors.
		fanouts.length = 0;
		const agentConnection = ((await agent.value('ready')).value as { connectionId: string })
			.connectionId;
		await t.services.presence.focus(agentConnection, first!.conversationId);
		const agentId = ws.agents[0]!.id;
		const toFirst = await visitors[0]!.next(
			(e) =>
				e.value?.type === 'presence' && e.value.userId === agentId && e.value.status === 'online'
		);
		expect(toFirst.value).toMatchObject({ focusConversationId: first!.conversationId });
		const toSecond = await visitors[1]!.next(
			(e) =>
				e.value?.type === 'presence' &&
				e.value.userId === agentId &&
				e.value.version === (toFirst.value as { version: number }).version
		);
		expect(toSecond.value).toMatchObject({ status: 'active', focusConversationId: null });
		await waitFor(() => fanouts.reduce((a, b) => a + b, 0) === 31);
		expect([...fanouts].sort((a, b) => a - b)).toEqual([2, 29]);
		// One encoded frame per copy: the same id on every stream.
		expect(toSecond.id).toBe(toFirst.id);

		agent.close();
		for (const v of visitors) v.close();
		await waitFor(() => hub.size === 0);
	});
});
