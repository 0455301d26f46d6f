import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { RedisPresenceEngine } from '../../../src/server/presence';
import { silentLogger } from '../../../src/server/presence/shared/logger';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import {
	assertVersionsIncrease,
	COMMAND_TIMEOUT_MS,
	listen,
	RecordingStore,
	redisClient,
	sleep,
	uniqueId,
	waitFor
} from './helpers';
import { ENGINE_TIMINGS } from '../../support/timings';

/**
 * Redis failures, on a redis-server of our own (killed, restarted empty, paused): presence
 * answers offline, nothing throws, timers keep running, and everyone converges when it returns.
 */

let server: RedisServerHandle;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const engines: { engine: RedisPresenceEngine; clients: Redis[] }[] = [];
const aborts: AbortController[] = [];

// Long heartbeat timeout: only the faults under test should expire anything.
const TIMINGS = { ...ENGINE_TIMINGS, heartbeatTimeoutMs: 30_000 };

beforeAll(async () => {
	server = await startRedisServer();
	process.on('unhandledRejection', onUnhandled);
});

afterAll(async () => {
	process.off('unhandledRejection', onUnhandled);
	await server?.cleanup();
});

afterEach(async () => {
	for (const controller of aborts.splice(0)) controller.abort();
	// A fresh, empty server for the next test (and for the engines' goodbye).
	await server.restart();
	for (const { engine, clients } of engines.splice(0)) {
		if (clients[0]!.status !== 'end') await engine.stop();
		for (const client of clients) client.disconnect();
	}
});

async function startNode(name: string) {
	const redis = redisClient(server.url);
	const subscriber = redisClient(server.url);
	await Promise.all([redis.connect(), subscriber.connect()]);
	const engine = new RedisPresenceEngine({
		redis,
		subscriber,
		keyPrefix: 'faults:',
		timings: TIMINGS,
		lastSeen: new RecordingStore(),
		nodeId: name,
		logger: silentLogger
	});
	await engine.start();
	engines.push({ engine, clients: [redis, subscriber] });
	return { engine, clients: [redis, subscriber] };
}

function signal() {
	const controller = new AbortController();
	aborts.push(controller);
	return controller.signal;
}

describe('presence when Redis fails', () => {
	it('killed mid-run: reads say offline, nothing throws, timers keep running', async () => {
		const { engine } = await startNode('a');
		const ws = uniqueId('ws');
		await listen(engine, ws, signal());
		const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
		expect(await engine.isOnline(ws, 'u1')).toBe(true);

		await server.kill();
		const states = await engine.read(ws, ['u1', 'u2']);
		expect([...states.values()].map((s) => s.isOnline)).toEqual([false, false]);
		expect(await engine.isOnline(ws, 'u1')).toBe(false);
		// Writes fail soft: the stream's own connection stays usable.
		expect(await engine.heartbeat(connectionId)).toBe(true);
		expect(await engine.owner(connectionId)).toEqual({ workspaceId: ws, userId: 'u1' });
		expect(await engine.focus(connectionId, 'conv-1')).toBeNull();
		expect(await engine.page(connectionId, { url: 'https://x.test/', title: 'x' })).toBeNull();
		const second = await engine.connect({ workspaceId: ws, userId: 'u2' });
		expect(second.change).toBeNull();
		expect(await engine.disconnect(second.connectionId)).toBeNull();
		// An unknown connection while Redis is away: not ours, so "unknown".
		expect(await engine.heartbeat(`${ws}~AAAAAAAAAAAAAAAAAAAAAAAA`)).toBe(false);
		await sleep(TIMINGS.leaseTtlMs * 2); // lease and sweep ticks fail repeatedly
		expect(unhandled).toEqual([]);
	});

	it('restarted empty: live connections are re-registered and listeners converge', async () => {
		const [a, b] = [await startNode('a'), await startNode('b')];
		const ws = uniqueId('ws');
		const events = await listen(a.engine, ws, signal());
		const c1 = await a.engine.connect({ workspaceId: ws, userId: 'u1' });
		await a.engine.focus(c1.connectionId, 'conv-1');
		await b.engine.connect({ workspaceId: ws, userId: 'u2' });
		// u3's node (b) will be gone when Redis comes back: nobody re-registers u3.
		const doomed = await startNode('doomed');
		await doomed.engine.connect({ workspaceId: ws, userId: 'u3' });
		await waitFor(() => ['u1', 'u2', 'u3'].every((u) => events.last(u)?.isOnline), 'all online');
		const before = new Map(['u1', 'u2', 'u3'].map((u) => [u, events.last(u)!.version]));

		await server.kill();
		doomed.engine.haltForTest();
		for (const client of doomed.clients) client.disconnect();
		await sleep(300);
		await server.restart();

		// u1 and u2 come back (newer versions), with u1's focus; u3 goes offline.
		await waitFor(
			async () => {
				const states = await a.engine.read(ws, ['u1', 'u2']);
				return states.get('u1')?.isOnline && states.get('u2')?.isOnline;
			},
			'u1 and u2 online again in Redis',
			10_000
		);
		expect((await a.engine.read(ws, ['u1'])).get('u1')).toMatchObject({
			focusConversationId: 'conv-1'
		});
		await waitFor(
			() =>
				events.events.some((e) => e.userId === 'u1' && e.isOnline && e.version > before.get('u1')!),
			'a listener gets u1 online again'
		);
		await waitFor(
			() => events.last('u3')?.isOnline === false,
			'a listener gets u3 offline (reconciled)',
			10_000
		);
		expect(events.last('u3')!.version).toBeGreaterThan(before.get('u3')!);
		expect(events.last('u1')).toMatchObject({ isOnline: true, focusConversationId: 'conv-1' });
		expect(events.last('u2')).toMatchObject({ isOnline: true });
		expect(assertVersionsIncrease(events.events)).toBeNull();
	});

	it('a connection opened while Redis is away is registered once it returns, without a heartbeat', async () => {
		const { engine } = await startNode('a');
		const ws = uniqueId('ws');
		// Let a few lease ticks pass with nothing to re-register first (an earlier bug left the
		// re-registration stuck after the first such tick).
		await sleep(TIMINGS.leaseTtlMs);

		await server.kill();
		const { change } = await engine.connect({ workspaceId: ws, userId: 'u1' });
		expect(change).toBeNull(); // accepted, to be registered later
		await server.restart();

		await waitFor(
			async () => (await engine.read(ws, ['u1'])).get('u1')?.isOnline === true,
			'u1 registered once Redis is back',
			10_000
		);
		// What Redis says, not what a listener heard: the registration may be published before the
		// subscriber has subscribed again, and reconcile replays only people the node had seen
		// (streams then learn it from the events bus's resync).
	});

	it('paused (SIGSTOP): calls fail fast within the command timeout and recover after SIGCONT', async () => {
		const { engine } = await startNode('a');
		const ws = uniqueId('ws');
		const events = await listen(engine, ws, signal());
		const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
		await waitFor(() => events.of('u1').length === 1, 'online');

		server.pause();
		const bound = COMMAND_TIMEOUT_MS * 5;
		const timed = async <T>(run: () => Promise<T>) => {
			const started = Date.now();
			const value = await run();
			return { value, ms: Date.now() - started };
		};
		const read = await timed(() => engine.read(ws, ['u1']));
		expect(read.value.get('u1')?.isOnline).toBe(false);
		expect(read.ms).toBeLessThan(bound);
		const beat = await timed(() => engine.heartbeat(connectionId));
		expect(beat.value).toBe(true);
		expect(beat.ms).toBeLessThan(bound);
		const focus = await timed(() => engine.focus(connectionId, 'conv-2'));
		expect(focus.value).toBeNull();
		expect(focus.ms).toBeLessThan(bound);
		await sleep(1000);

		server.resume();
		// The failed focus report is retried; the person is online with it.
		await waitFor(
			async () => (await engine.read(ws, ['u1'])).get('u1')?.focusConversationId === 'conv-2',
			'recovered with the retried focus',
			10_000
		);
		expect(await engine.isOnline(ws, 'u1')).toBe(true);
		await waitFor(() => events.last('u1')?.focusConversationId === 'conv-2', 'the focus event');
		expect(unhandled).toEqual([]);
	});
});
