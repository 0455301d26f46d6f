import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisPresenceEngine, type PresenceTimings } from '../../../src/server/presence';
import { silentLogger } from '../../../src/server/presence/shared/logger';
import { testKeyPrefix } from '../../support/redis';
import {
	assertVersionsIncrease,
	dropKeyPrefix,
	listen,
	RecordingStore,
	redisClient,
	REDIS_URL,
	sleep,
	uniqueId,
	waitFor
} from './helpers';
import { ENGINE_TIMINGS } from '../../support/timings';

/** Several RedisPresenceEngine nodes, each with its own clients, sharing one Redis and prefix. */

const prefix = testKeyPrefix();

interface Node {
	engine: RedisPresenceEngine;
	clients: Redis[];
	lastSeen: RecordingStore;
}

const nodes: Node[] = [];
const aborts: AbortController[] = [];

async function startNode(name: string, timings: PresenceTimings = ENGINE_TIMINGS): Promise<Node> {
	// Nothing here tests a slow Redis: a command timeout far above the helpers' 500 ms keeps a
	// loaded machine (the suite runs beside Playwright) from reading as Redis away (an owner
	// lookup that timed out answered null once).
	const redis = redisClient(REDIS_URL, 2000);
	const subscriber = redisClient(REDIS_URL, 2000);
	await Promise.all([redis.connect(), subscriber.connect()]);
	const lastSeen = new RecordingStore();
	const engine = new RedisPresenceEngine({
		redis,
		subscriber,
		keyPrefix: prefix,
		timings,
		lastSeen,
		nodeId: name,
		logger: silentLogger
	});
	await engine.start();
	const node = { engine, clients: [redis, subscriber], lastSeen };
	nodes.push(node);
	return node;
}

/** Like a crash: no goodbye, timers gone, connections to Redis dropped. */
function crash(node: Node) {
	node.engine.haltForTest();
	for (const client of node.clients) client.disconnect();
}

function signal() {
	const controller = new AbortController();
	aborts.push(controller);
	return controller.signal;
}

afterEach(async () => {
	for (const controller of aborts.splice(0)) controller.abort();
	for (const node of nodes.splice(0)) {
		if (node.clients[0]!.status !== 'end') await node.engine.stop();
		for (const client of node.clients) client.disconnect();
	}
});
afterAll(() => dropKeyPrefix(prefix, REDIS_URL));

describe('presence across nodes', () => {
	it('a connection on node A is seen by a listener on node B; focus through B reaches everyone', async () => {
		const [a, b] = [await startNode('a'), await startNode('b')];
		const ws = uniqueId('ws');
		const onB = await listen(b.engine, ws, signal());
		const onA = await listen(a.engine, ws, signal());
		const { connectionId } = await a.engine.connect({ workspaceId: ws, userId: 'u1' });
		await waitFor(() => onB.of('u1').length === 1, 'online on B');
		expect(onB.last('u1')).toMatchObject({ isOnline: true, workspaceId: ws });
		expect(await b.engine.owner(connectionId)).toEqual({ workspaceId: ws, userId: 'u1' });
		expect(await b.engine.focus(connectionId, 'conv-1')).toMatchObject({
			focusConversationId: 'conv-1'
		});
		await waitFor(() => onA.of('u1').length === 2 && onB.of('u1').length === 2, 'focus on both');
		expect(onA.events).toEqual(onB.events);
	});

	it('a heartbeat sent through node B keeps node A’s connection alive', async () => {
		const timings = { ...ENGINE_TIMINGS, heartbeatTimeoutMs: 1500 };
		const [a, b] = [await startNode('a', timings), await startNode('b', timings)];
		const ws = uniqueId('ws');
		const events = await listen(a.engine, ws, signal());
		const { connectionId } = await a.engine.connect({ workspaceId: ws, userId: 'u1' });
		const started = Date.now();
		while (Date.now() - started < timings.heartbeatTimeoutMs * 2.5) {
			expect(await b.engine.heartbeat(connectionId)).toBe(true);
			await sleep(200);
		}
		expect(await a.engine.isOnline(ws, 'u1')).toBe(true);
		expect(events.of('u1').map((e) => e.isOnline)).toEqual([true]);
		await waitFor(() => events.of('u1').length === 2, 'offline once heartbeats stop');
	});

	it('many expiring people, three racing sweepers: exactly one offline event each', async () => {
		// Half of them expire by heartbeat timeout: a short one of this test's own.
		const timings = { ...ENGINE_TIMINGS, heartbeatTimeoutMs: 1500 };
		const three = [
			await startNode('a', timings),
			await startNode('b', timings),
			await startNode('c', timings)
		];
		const ws = uniqueId('ws');
		const recorders = await Promise.all(three.map((n) => listen(n.engine, ws, signal())));
		const people = Array.from({ length: 150 }, (_, i) => `p${i}`);
		const ids = await Promise.all(
			people.map((userId, i) => three[i % 3]!.engine.connect({ workspaceId: ws, userId }))
		);
		// Half close (grace path), half starve (heartbeat-timeout path).
		await Promise.all(
			ids.map(({ connectionId }, i) =>
				i % 2 === 0 ? three[(i + 1) % 3]!.engine.disconnect(connectionId) : null
			)
		);
		for (const recorder of recorders) {
			await waitFor(
				() => people.every((p) => recorder.of(p).some((e) => !e.isOnline)),
				'everyone offline',
				15_000
			);
		}
		await sleep(500);
		for (const recorder of recorders) {
			for (const p of people) {
				expect(recorder.of(p).map((e) => e.isOnline)).toEqual([true, false]);
			}
			expect(assertVersionsIncrease(recorder.events)).toBeNull();
		}
		// last_seen: the offline time each person was shown with is written, whichever node ran
		// the script, and nothing else but the online time. A node keeps only a person's newest
		// time until it flushes, so when one node saw both (slow ticks on loaded cores) the two
		// are one write of the offline time.
		const offlineAt = (p: string) => recorders[0]!.of(p).find((e) => !e.isOnline)!.lastSeenAt;
		const writes = (p: string) => three.flatMap((n) => n.lastSeen.of(p));
		await waitFor(
			() => people.every((p) => writes(p).some((w) => w.at.getTime() === offlineAt(p))),
			'the offline time written for every person'
		);
		for (const p of people) expect(writes(p).length).toBeLessThanOrEqual(2);
	});

	it('a node that dies without a goodbye: its people go offline within lease TTL + sweep', async () => {
		// A long heartbeat timeout: only the lease can expire the doomed node's connections.
		const timings = { ...ENGINE_TIMINGS, heartbeatTimeoutMs: 30_000 };
		const [a, doomed] = [await startNode('a', timings), await startNode('doomed', timings)];
		const ws = uniqueId('ws');
		const events = await listen(a.engine, ws, signal());
		const people = ['u1', 'u2', 'u3'];
		for (const userId of people) await doomed.engine.connect({ workspaceId: ws, userId });
		// u3 also has a tab on A: it stays online.
		await a.engine.connect({ workspaceId: ws, userId: 'u3' });
		await waitFor(() => people.every((p) => events.of(p).length === 1), 'everyone online');
		const crashedAt = Date.now();
		crash(doomed);
		await waitFor(
			() => ['u1', 'u2'].every((p) => events.of(p).some((e) => !e.isOnline)),
			'offline after the lease lapses',
			ENGINE_TIMINGS.leaseTtlMs + ENGINE_TIMINGS.sweepIntervalMs + 5000
		);
		const took = Date.now() - crashedAt;
		// Bound: lease TTL + sweep period (+ generous slack for loaded machines); well below the heartbeat timeout path.
		expect(took).toBeLessThan(ENGINE_TIMINGS.leaseTtlMs + ENGINE_TIMINGS.sweepIntervalMs + 3000);
		expect(events.of('u3').map((e) => e.isOnline)).toEqual([true]);
		expect(await a.engine.isOnline(ws, 'u3')).toBe(true);
	});

	it('a stalled node whose lease lapsed re-registers its connections under a new incarnation', async () => {
		const timings = { ...ENGINE_TIMINGS, heartbeatTimeoutMs: 30_000 };
		const [a, b] = [await startNode('a', timings), await startNode('b', timings)];
		const ws = uniqueId('ws');
		const events = await listen(a.engine, ws, signal());
		let expired = 0;
		const { connectionId } = await b.engine.connect({ workspaceId: ws, userId: 'u1' });
		b.engine.watchExpiry(connectionId, () => expired++, signal());
		await b.engine.focus(connectionId, 'conv-1');
		const before = b.engine.holderId;
		// Simulate a stall: B's lease vanishes (as if B missed its refreshes).
		const admin = new Redis(REDIS_URL);
		await admin.del(`${prefix}node:${before}`);
		admin.disconnect();
		// Either A reaps it first (B's stream learns via watchExpiry) or B re-registers it first.
		await waitFor(() => b.engine.holderId !== before, 'a new incarnation', 5000);
		await sleep(ENGINE_TIMINGS.leaseTtlMs * 2);
		const online = await a.engine.isOnline(ws, 'u1');
		if (expired === 1) {
			expect(events.of('u1').some((e) => !e.isOnline)).toBe(true);
		} else {
			expect(online).toBe(true);
			expect((await a.engine.read(ws, ['u1'])).get('u1')).toMatchObject({
				focusConversationId: 'conv-1'
			});
		}
		expect(assertVersionsIncrease(events.events)).toBeNull();
		// What /metrics shows of it: one reincarnation on B, a lease renewed since; none on A.
		const [statsA, statsB] = [await a.engine.stats(), await b.engine.stats()];
		expect(statsB.reincarnations_total).toBe(1);
		expect(statsA.reincarnations_total).toBe(0);
		expect(statsB.lease_refresh_age_ms).toBeLessThan(ENGINE_TIMINGS.leaseTtlMs);
		// B published u1's changes (connect, focus); A received them on its bus.
		expect(statsB.changes_published_total).toBeGreaterThanOrEqual(2);
		expect(statsA.changes_received_total).toBeGreaterThanOrEqual(2);
	});
});
