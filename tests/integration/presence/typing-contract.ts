import { describe, expect, it } from 'vitest';
import type { PresenceTimings, TypingChange } from '../../../src/server/presence';
import { contractTimings, engineHarness, type MakeEngine } from './engine-under-test';
import { listen, uniqueId } from './helpers';

/**
 * Typing (issue 13), on every backend: a start and an end per burst of typing, whatever ends it
 * (send, the connection going, the server's deadline), never one event per call.
 */

const TTL_MS = 400;
/** A sweep or two past the deadline, on two loaded cores. */
const SLACK_MS = 6 * contractTimings().sweepIntervalMs + 400;

export function describeTypingContract(name: string, makeEngine: MakeEngine) {
	describe(`typing contract: ${name}`, () => {
		const harness = engineHarness(makeEngine);
		const { sleep, waitFor } = harness;

		async function setup(timings: Partial<PresenceTimings> = {}) {
			const under = await harness.start(timings);
			const ws = uniqueId('ws');
			const events: TypingChange[] = [];
			await under.engine.listenTyping(ws, (c) => events.push(c), harness.signal());
			const of = (userId: string, conversationId = 'cv1') =>
				events.filter((e) => e.userId === userId && e.conversationId === conversationId);
			return { ...under, ws, events, of };
		}

		it('start, extend, end by deadline: one start and one end', async () => {
			const { engine, ws, of } = await setup();
			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
			const started = await engine.typing(connectionId, 'cv1', TTL_MS);
			expect(started).toEqual({
				workspaceId: ws,
				conversationId: 'cv1',
				userId: 'u1',
				typing: true
			});
			await waitFor(() => of('u1').length === 1, 'the start');
			const startedAt = Date.now();
			// Keystrokes inside the TTL only move the deadline. Timed from before the last call:
			// its deadline is set when it runs, which a loaded machine may answer much later.
			let lastAt = 0;
			for (let i = 0; i < 3; i++) {
				await sleep(TTL_MS / 2);
				lastAt = Date.now();
				expect(await engine.typing(connectionId, 'cv1', TTL_MS)).toBeNull();
			}
			expect(of('u1')).toHaveLength(1);
			await waitFor(() => of('u1').length === 2, 'the end by deadline', TTL_MS + SLACK_MS + 1500);
			const took = Date.now() - lastAt;
			expect(took).toBeGreaterThanOrEqual(TTL_MS - 50);
			expect(Date.now() - startedAt).toBeGreaterThan(TTL_MS * 1.5);
			expect(of('u1').map((e) => e.typing)).toEqual([true, false]);
			await sleep(SLACK_MS);
			expect(of('u1')).toHaveLength(2);
		});

		it('end by send (stopTyping): one end, and a second stop emits nothing', async () => {
			const { engine, ws, of } = await setup();
			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
			await engine.typing(connectionId, 'cv1', 5000);
			const ended = await engine.stopTyping(ws, 'u1', 'cv1');
			expect(ended).toEqual({
				workspaceId: ws,
				conversationId: 'cv1',
				userId: 'u1',
				typing: false
			});
			expect(await engine.stopTyping(ws, 'u1', 'cv1')).toBeNull();
			await waitFor(() => of('u1').length === 2, 'start and end');
			await sleep(SLACK_MS);
			expect(of('u1').map((e) => e.typing)).toEqual([true, false]);
			// Typing again is a new start.
			expect(await engine.typing(connectionId, 'cv1', 5000)).toMatchObject({ typing: true });
			await waitFor(() => of('u1').length === 3, 'a new start');
		});

		it('end by disconnect, at once (no grace, no deadline wait)', async () => {
			const { engine, ws, of } = await setup({ graceMs: 1000 });
			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
			await engine.typing(connectionId, 'cv1', 10_000);
			await engine.typing(connectionId, 'cv2', 10_000);
			await waitFor(() => of('u1').length === 1 && of('u1', 'cv2').length === 1, 'two starts');
			const closed = Date.now();
			await engine.disconnect(connectionId);
			await waitFor(() => of('u1').length === 2 && of('u1', 'cv2').length === 2, 'both ends', 2000);
			expect(Date.now() - closed).toBeLessThan(900);
			expect(of('u1').map((e) => e.typing)).toEqual([true, false]);
			expect(await engine.typing(connectionId, 'cv1', 1000)).toBeNull(); // a gone connection
		});

		it('end by heartbeat expiry (a client that vanished mid-word)', async () => {
			const { engine, ws, of } = await setup({ heartbeatTimeoutMs: 300 });
			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
			await engine.typing(connectionId, 'cv1', 60_000);
			await waitFor(
				() => of('u1').length === 2,
				'the end with the connection',
				300 + SLACK_MS + 1500
			);
			expect(of('u1').map((e) => e.typing)).toEqual([true, false]);
		});

		it('another tab that typed since keeps the typing when the first tab closes', async () => {
			const { engine, ws, of } = await setup();
			const a = await engine.connect({ workspaceId: ws, userId: 'u1' });
			const b = await engine.connect({ workspaceId: ws, userId: 'u1' });
			await engine.typing(a.connectionId, 'cv1', 5000);
			expect(await engine.typing(b.connectionId, 'cv1', 5000)).toBeNull();
			await engine.disconnect(a.connectionId);
			await sleep(SLACK_MS);
			expect(of('u1').map((e) => e.typing)).toEqual([true]);
			await engine.disconnect(b.connectionId);
			await waitFor(() => of('u1').length === 2, 'the end with the last typing tab');
		});

		it('people and conversations are independent; other workspaces hear nothing', async () => {
			const { engine, ws, of, events } = await setup();
			const other = uniqueId('ws');
			const elsewhere: TypingChange[] = [];
			await engine.listenTyping(other, (c) => elsewhere.push(c), harness.signal());
			const u1 = await engine.connect({ workspaceId: ws, userId: 'u1' });
			const u2 = await engine.connect({ workspaceId: ws, userId: 'u2' });
			await engine.typing(u1.connectionId, 'cv1', 5000);
			await engine.typing(u2.connectionId, 'cv1', 5000);
			await engine.stopTyping(ws, 'u1', 'cv1');
			await waitFor(() => events.length === 3, 'three events');
			expect(of('u1').map((e) => e.typing)).toEqual([true, false]);
			expect(of('u2').map((e) => e.typing)).toEqual([true]);
			expect(elsewhere).toEqual([]);
		});
	});

	describe(`idle contract: ${name}`, () => {
		const harness = engineHarness(makeEngine);
		const { sleep, waitFor } = harness;

		async function setup() {
			const under = await harness.start();
			const ws = uniqueId('ws');
			const events = await listen(under.engine, ws, harness.signal());
			return { ...under, ws, events };
		}

		it('idle only when every connection is; the next input on any ends it; one event per change', async () => {
			const { engine, ws, events } = await setup();
			const a = await engine.connect({ workspaceId: ws, userId: 'u1' });
			const b = await engine.connect({ workspaceId: ws, userId: 'u1' });
			await waitFor(() => events.of('u1').length === 1, 'online');
			const idleOf = async () => (await engine.read(ws, ['u1'])).get('u1')!.idleSince ?? null;

			expect(await engine.idle(a.connectionId, true)).toBeNull(); // b still has input
			expect(await idleOf()).toBeNull();
			const before = Date.now();
			const change = await engine.idle(b.connectionId, true);
			expect(change).toMatchObject({ userId: 'u1', isOnline: true });
			expect(change!.idleSince).toBeGreaterThanOrEqual(before - 1000);
			expect(await idleOf()).toBe(change!.idleSince);
			await waitFor(() => events.of('u1').length === 2, 'the idle event');
			expect(events.of('u1')[1]!.idleSince).toBe(change!.idleSince);

			// Repeats change nothing.
			expect(await engine.idle(b.connectionId, true)).toBeNull();
			expect(await engine.idle(a.connectionId, true)).toBeNull();

			const back = await engine.idle(a.connectionId, false);
			expect(back?.idleSince ?? null).toBeNull();
			await waitFor(() => events.of('u1').length === 3, 'active again');
			expect(events.of('u1')[2]!.idleSince ?? null).toBeNull();
			expect(events.of('u1')[2]!.version).toBeGreaterThan(events.of('u1')[1]!.version);

			// Idle again, then the active tab closes: the idle one is all that is left.
			await engine.idle(a.connectionId, true);
			await waitFor(() => events.of('u1').length === 4, 'idle again');
			await engine.idle(a.connectionId, false);
			await waitFor(() => events.of('u1').length === 5, 'active');
			await engine.disconnect(a.connectionId);
			await waitFor(() => events.of('u1').length === 6, 'idle: only b is left, and it is idle');
			expect(events.of('u1')[5]!.idleSince).toBeGreaterThan(0);
			// A new tab is input: the person is active again.
			await engine.connect({ workspaceId: ws, userId: 'u1' });
			await waitFor(() => events.of('u1').length === 7, 'a new tab');
			expect(events.of('u1')[6]!.idleSince ?? null).toBeNull();
			await sleep(200);
			expect(events.of('u1')).toHaveLength(7);
		});

		it('offline is never idle; an unknown connection is null', async () => {
			const { engine, ws, events } = await setup();
			const a = await engine.connect({ workspaceId: ws, userId: 'u1' });
			await engine.idle(a.connectionId, true);
			await engine.disconnect(a.connectionId);
			await waitFor(() => events.of('u1').some((e) => !e.isOnline), 'offline');
			const offline = events.of('u1').at(-1)!;
			expect(offline.idleSince ?? null).toBeNull();
			expect((await engine.read(ws, ['u1'])).get('u1')!.idleSince ?? null).toBeNull();
			expect(await engine.idle(a.connectionId, true)).toBeNull();
		});
	});
}
