import { describe, expect, it } from 'vitest';
import type { PresenceTimings } from '../../../src/server/presence';
import { contractTimings, engineHarness, type MakeEngine } from './engine-under-test';
import { assertVersionsIncrease, listen, uniqueId } from './helpers';

/**
 * The presence contract (docs/design.md §2), run against every backend: the same tests,
 * only the engine differs. `makeEngine` builds a started engine with the given timings.
 */

const TIMINGS = contractTimings();
/** Long enough for a grace and a few sweeps to pass on two loaded cores. */
const SETTLE_MS = TIMINGS.graceMs + 8 * TIMINGS.sweepIntervalMs + 300;

export function describeContract(name: string, makeEngine: MakeEngine) {
	describe(`presence contract: ${name}`, () => {
		const harness = engineHarness(makeEngine);
		const { sleep, waitFor } = harness;

		async function setup(timings: Partial<PresenceTimings> = {}) {
			const under = await harness.start(timings);
			const ws = uniqueId('ws');
			const signal = harness.signal();
			const events = await listen(under.engine, ws, signal);
			return { ...under, ws, events, signal };
		}

		it('connect with people to read answers their presence as read would, after the registration', async () => {
			const { engine, ws } = await setup();
			const other = await engine.connect({ workspaceId: ws, userId: 'agent' });
			await engine.focus(other.connectionId, 'conv-1');
			const { connectionId, change, states } = await engine.connect(
				{ workspaceId: ws, userId: 'me' },
				['me', 'agent', 'nobody']
			);
			// Their own registration is in it: the newcomer reads themselves online.
			expect(states?.get('me')).toMatchObject({ isOnline: true, version: change!.version });
			expect(states?.get('agent')).toMatchObject({
				isOnline: true,
				focusConversationId: 'conv-1'
			});
			expect(states?.get('nobody')).toMatchObject({ isOnline: false, lastSeenAt: null });
			expect([...states!.keys()]).toEqual(['me', 'agent', 'nobody']);
			expect(states).toEqual(await engine.read(ws, ['me', 'agent', 'nobody']));
			// Without people to read, nothing is read.
			const plain = await engine.connect({ workspaceId: ws, userId: 'me' });
			expect(plain.states).toBeUndefined();
			await engine.disconnect(connectionId);
			await engine.disconnect(plain.connectionId);
			await engine.disconnect(other.connectionId);
		});

		it('a single connection: online at once, offline after the grace, last seen both times', async () => {
			const { engine, ws, events, lastSeen } = await setup();
			const before = Date.now();
			const { connectionId, change } = await engine.connect({ workspaceId: ws, userId: 'u1' });
			expect(connectionId.startsWith(`${ws}~`)).toBe(true);
			expect(change).toMatchObject({ workspaceId: ws, userId: 'u1', isOnline: true });
			await waitFor(() => events.of('u1').length === 1, 'the online event');
			expect(events.of('u1')[0]).toMatchObject({
				isOnline: true,
				focusConversationId: null,
				currentPage: null
			});
			expect(events.of('u1')[0]!.version).toBe(change!.version);
			expect((await engine.read(ws, ['u1'])).get('u1')).toMatchObject({ isOnline: true });
			expect(await engine.isOnline(ws, 'u1')).toBe(true);
			expect(await engine.owner(connectionId)).toEqual({ workspaceId: ws, userId: 'u1' });

			const closed = Date.now();
			expect(await engine.disconnect(connectionId)).toBeNull(); // grace: nothing yet
			expect(await engine.isOnline(ws, 'u1')).toBe(true);
			await waitFor(() => events.of('u1').length === 2, 'the offline event');
			const offline = events.of('u1')[1]!;
			expect(offline).toMatchObject({
				isOnline: false,
				focusConversationId: null,
				currentPage: null
			});
			// Not before the grace (allowing a little clock slack between Redis and this process).
			expect(Date.now() - closed).toBeGreaterThanOrEqual(TIMINGS.graceMs - 20);
			expect(offline.lastSeenAt).toBeGreaterThanOrEqual(before - 1000);
			const state = (await engine.read(ws, ['u1'])).get('u1')!;
			expect(state).toMatchObject({ isOnline: false, currentPage: null, version: offline.version });
			expect(await engine.owner(connectionId)).toBeNull();
			expect(await engine.heartbeat(connectionId)).toBe(false);

			await waitFor(() => lastSeen.of('u1').length >= 2, 'last_seen writes (online and offline)');
			expect(lastSeen.of('u1')[0]!.workspaceId).toBe(ws);
		});

		it('grace 0: offline at once', async () => {
			const { engine, ws, events } = await setup({ graceMs: 0 });
			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
			const change = await engine.disconnect(connectionId);
			expect(change).toMatchObject({ isOnline: false, userId: 'u1' });
			expect(await engine.isOnline(ws, 'u1')).toBe(false);
			await waitFor(() => events.of('u1').length === 2, 'online then offline');
			expect(events.of('u1').map((e) => e.isOnline)).toEqual([true, false]);
		});

		it('two tabs: closing one changes nothing, closing both goes offline once', async () => {
			const { engine, ws, events } = await setup();
			const a = await engine.connect({ workspaceId: ws, userId: 'u1' });
			const b = await engine.connect({ workspaceId: ws, userId: 'u1' });
			expect(b.change).toBeNull();
			await engine.disconnect(a.connectionId);
			await sleep(SETTLE_MS);
			expect(events.of('u1').map((e) => e.isOnline)).toEqual([true]);
			expect(await engine.isOnline(ws, 'u1')).toBe(true);
			await engine.disconnect(b.connectionId);
			await waitFor(() => events.of('u1').length === 2, 'offline');
			await sleep(SETTLE_MS);
			expect(events.of('u1').map((e) => e.isOnline)).toEqual([true, false]);
		});

		it('a reload within the grace emits nothing at all (focus and page carry over)', async () => {
			const { engine, ws, events } = await setup();
			const a = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.page(a.connectionId, { url: 'https://shop.test/a', title: 'A' });
			await engine.focus(a.connectionId, 'conv-1');
			await waitFor(() => events.of('v1').length === 3, 'online, page, focus');
			await engine.disconnect(a.connectionId);
			const b = await engine.connect({ workspaceId: ws, userId: 'v1' });
			expect(b.change).toBeNull();
			// The reloaded page reports the same page and focus: still nothing.
			expect(
				await engine.page(b.connectionId, { url: 'https://shop.test/a', title: 'A' })
			).toBeNull();
			expect(await engine.focus(b.connectionId, 'conv-1')).toBeNull();
			await sleep(SETTLE_MS);
			expect(events.of('v1')).toHaveLength(3);
			expect((await engine.read(ws, ['v1'])).get('v1')).toMatchObject({
				isOnline: true,
				focusConversationId: 'conv-1',
				currentPage: { url: 'https://shop.test/a', title: 'A' }
			});
		});

		it('an inherited focus is only lent: the new tab reporting no focus ends it at once', async () => {
			const { engine, ws, events } = await setup();
			const a = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.focus(a.connectionId, 'conv-1');
			await waitFor(() => events.of('v1').length === 2, 'online, focus');
			await engine.disconnect(a.connectionId);
			const b = await engine.connect({ workspaceId: ws, userId: 'v1' });
			expect(b.change).toBeNull();
			// Still shown (no flicker), but not counted as reading by anyone who asks.
			expect((await engine.read(ws, ['v1'])).get('v1')).toMatchObject({
				focusConversationId: 'conv-1',
				focusInherited: true
			});
			// The reloaded page shows the chat closed.
			const blur = await engine.focus(b.connectionId, null);
			expect(blur).toMatchObject({ isOnline: true, focusConversationId: null });
			await waitFor(() => events.of('v1').length === 3, 'the blur');
			expect(events.of('v1')[2]).toMatchObject({ isOnline: true, focusConversationId: null });
			assertVersionsIncrease(events.of('v1'));
			const state = (await engine.read(ws, ['v1'])).get('v1')!;
			expect(state.focusConversationId).toBeNull();
			expect(state.focusInherited).toBeFalsy();
		});

		it('a reloaded tab confirming the inherited focus emits nothing and keeps it for good', async () => {
			const { engine, ws, events } = await setup({ inheritedFocusMs: 150 });
			const a = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.focus(a.connectionId, 'conv-1');
			await waitFor(() => events.of('v1').length === 2, 'online, focus');
			await engine.disconnect(a.connectionId);
			const b = await engine.connect({ workspaceId: ws, userId: 'v1' });
			expect(await engine.focus(b.connectionId, 'conv-1')).toBeNull();
			// Past the lending time: the tab's own report stands.
			await sleep(SETTLE_MS);
			expect(events.of('v1')).toHaveLength(2);
			const state = (await engine.read(ws, ['v1'])).get('v1')!;
			expect(state).toMatchObject({ isOnline: true, focusConversationId: 'conv-1' });
			expect(state.focusInherited).toBeFalsy();
		});

		it('an inherited focus no tab confirms is dropped after inheritedFocusMs (a page report does not confirm it)', async () => {
			const lendMs = 300;
			const { engine, ws, events } = await setup({ inheritedFocusMs: lendMs });
			const a = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.page(a.connectionId, { url: 'https://shop.test/a', title: 'A' });
			await engine.focus(a.connectionId, 'conv-1');
			await waitFor(() => events.of('v1').length === 3, 'online, page, focus');
			await engine.disconnect(a.connectionId);
			const reloadedAt = Date.now();
			const b = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.page(b.connectionId, { url: 'https://shop.test/b', title: 'B' });
			await waitFor(() => events.of('v1').length === 4, 'the new page');
			expect(events.of('v1')[3]).toMatchObject({ focusConversationId: 'conv-1' });
			await waitFor(() => events.of('v1').length === 5, 'the lent focus lapsing');
			expect(Date.now() - reloadedAt).toBeGreaterThanOrEqual(lendMs - 20);
			expect(events.of('v1')[4]).toMatchObject({
				isOnline: true,
				focusConversationId: null,
				currentPage: { url: 'https://shop.test/b', title: 'B' }
			});
			assertVersionsIncrease(events.of('v1'));
			// Still online: only the focus went; nothing else follows.
			await sleep(SETTLE_MS);
			expect(events.of('v1')).toHaveLength(5);
			expect((await engine.read(ws, ['v1'])).get('v1')).toMatchObject({
				isOnline: true,
				focusConversationId: null
			});
		});

		it("a tab focused meanwhile is not touched when another tab's inherited focus lapses", async () => {
			const { engine, ws, events } = await setup({ inheritedFocusMs: 150 });
			const a = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.focus(a.connectionId, 'conv-1');
			await engine.disconnect(a.connectionId);
			// The reloaded tab never says what it shows; a second tab focuses another conversation.
			await engine.connect({ workspaceId: ws, userId: 'v1' });
			const c = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.focus(c.connectionId, 'conv-2');
			await waitFor(
				() => events.of('v1').at(-1)?.focusConversationId === 'conv-2',
				'the second tab focusing'
			);
			const count = events.of('v1').length;
			await sleep(SETTLE_MS);
			expect(events.of('v1')).toHaveLength(count);
			expect((await engine.read(ws, ['v1'])).get('v1')).toMatchObject({
				focusConversationId: 'conv-2'
			});
			// And the lapsed tab stays without focus when the focused one blurs.
			await engine.focus(c.connectionId, null);
			await waitFor(
				() => events.of('v1').at(-1)?.focusConversationId === null,
				'no focus left anywhere'
			);
		});

		it('heartbeat starvation: offline after the timeout, and watchExpiry fires', async () => {
			const timeout = 1000;
			const { engine, ws, events } = await setup({ heartbeatTimeoutMs: timeout });
			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
			let expired = 0;
			engine.watchExpiry(connectionId, () => expired++, harness.signal());
			// Heartbeats keep it alive past several timeouts.
			const started = Date.now();
			while (Date.now() - started < timeout * 2.5) {
				expect(await engine.heartbeat(connectionId)).toBe(true);
				await sleep(150);
			}
			expect(await engine.isOnline(ws, 'u1')).toBe(true);
			expect(expired).toBe(0);
			// Then they stop.
			await waitFor(() => events.of('u1').length === 2, 'the offline event', 10_000);
			expect(events.of('u1').map((e) => e.isOnline)).toEqual([true, false]);
			await waitFor(() => expired === 1, 'watchExpiry');
			expect(await engine.heartbeat(connectionId)).toBe(false);
			expect(await engine.owner(connectionId)).toBeNull();
			await sleep(200);
			expect(expired).toBe(1);
		});

		it('a heartbeat naming someone else is refused and keeps nothing alive', async () => {
			const timeout = 1000;
			const { engine, ws, events } = await setup({ heartbeatTimeoutMs: timeout });
			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
			expect(await engine.heartbeat(connectionId, 'u1')).toBe(true);
			const started = Date.now();
			while (Date.now() - started < timeout * 2) {
				expect(await engine.heartbeat(connectionId, 'intruder')).toBe(false);
				await sleep(150);
			}
			await waitFor(() => events.of('u1').length === 2, 'the offline event', 10_000);
			expect(events.of('u1').map((e) => e.isOnline)).toEqual([true, false]);
		});

		it('a person over their heartbeat limit is refused across all their connections; others are not', async () => {
			const { engine, ws } = await setup();
			// A day-long window: it does not turn between these calls.
			const limit = { limit: 3, windowMs: 86_400_000 };
			const a = await engine.connect({ workspaceId: ws, userId: 'u1' });
			const b = await engine.connect({ workspaceId: ws, userId: 'u1' });
			const other = await engine.connect({ workspaceId: ws, userId: 'u2' });
			const answers = [
				await engine.heartbeat(a.connectionId, 'u1', limit),
				await engine.heartbeat(b.connectionId, 'u1', limit),
				// An unknown id counts too: minting ids does not get around the limit.
				await engine.heartbeat(`${ws}~${'z'.repeat(20)}`, 'u1', limit),
				await engine.heartbeat(a.connectionId, 'u1', limit)
			];
			expect(answers).toEqual([true, true, false, 'limited']);
			expect(await engine.heartbeat(other.connectionId, 'u2', limit)).toBe(true);
		});

		it('focus, blur and page emit; repeats do not', async () => {
			const { engine, ws, events } = await setup();
			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'v1' });
			const focused = await engine.focus(connectionId, 'conv-1');
			expect(focused).toMatchObject({ isOnline: true, focusConversationId: 'conv-1' });
			expect(await engine.focus(connectionId, 'conv-1')).toBeNull();
			const paged = await engine.page(connectionId, { url: 'https://shop.test/p', title: 'P' });
			expect(paged).toMatchObject({ currentPage: { url: 'https://shop.test/p', title: 'P' } });
			expect(
				await engine.page(connectionId, { url: 'https://shop.test/p', title: 'P' })
			).toBeNull();
			const blurred = await engine.focus(connectionId, null);
			expect(blurred).toMatchObject({ focusConversationId: null });
			expect(await engine.focus(connectionId, null)).toBeNull();
			await waitFor(() => events.of('v1').length === 4, 'online, focus, page, blur');
			await sleep(100);
			expect(
				events.of('v1').map((e) => [e.focusConversationId, e.currentPage?.url ?? null])
			).toEqual([
				[null, null],
				['conv-1', null],
				['conv-1', 'https://shop.test/p'],
				[null, 'https://shop.test/p']
			]);
			// Reports on an unknown connection change nothing.
			expect(await engine.focus(`${ws}~AAAAAAAAAAAAAAAAAAAAAAAA`, 'conv-9')).toBeNull();
			expect(await engine.page('garbage', { url: 'https://x.test', title: 'x' })).toBeNull();
		});

		it('person-level focus and page follow the latest report and fall back when a tab closes', async () => {
			const { engine, ws, events } = await setup();
			const a = await engine.connect({ workspaceId: ws, userId: 'v1' });
			const b = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.focus(a.connectionId, 'conv-a');
			await engine.page(a.connectionId, { url: 'https://shop.test/a', title: 'A' });
			await engine.focus(b.connectionId, 'conv-b');
			await engine.page(b.connectionId, { url: 'https://shop.test/b', title: 'B' });
			const read = async () => (await engine.read(ws, ['v1'])).get('v1')!;
			expect(await read()).toMatchObject({
				focusConversationId: 'conv-b',
				currentPage: { title: 'B' }
			});
			// b blurs: a is still focused on its conversation.
			await engine.focus(b.connectionId, null);
			expect(await read()).toMatchObject({ focusConversationId: 'conv-a' });
			// b closes: the page falls back to a's.
			const change = await engine.disconnect(b.connectionId);
			expect(change).toMatchObject({ isOnline: true, currentPage: { title: 'A' } });
			await waitFor(() => events.last('v1')?.currentPage?.title === 'A', 'the fallback event');
			expect(assertVersionsIncrease(events.events)).toBeNull();
		});

		it('versions strictly increase per person, and reads carry them', async () => {
			const { engine, ws, events } = await setup({ graceMs: 0 });
			for (let i = 0; i < 5; i++) {
				const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
				await engine.focus(connectionId, `conv-${i}`);
				await engine.page(connectionId, { url: `https://shop.test/${i}`, title: `${i}` });
				await engine.disconnect(connectionId);
			}
			await waitFor(() => events.of('u1').length === 20, '20 events');
			expect(assertVersionsIncrease(events.events)).toBeNull();
			const state = (await engine.read(ws, ['u1'])).get('u1')!;
			expect(state.version).toBe(events.last('u1')!.version);
			expect(state.isOnline).toBe(false);
		});

		it('a batch read of 1,000 people answers everyone (one Redis round trip)', async () => {
			const { engine, ws, countCommands } = await setup();
			const ids = Array.from({ length: 1000 }, (_, i) => `p${i}`);
			await engine.connect({ workspaceId: ws, userId: 'p7' });
			await engine.connect({ workspaceId: ws, userId: 'p999' });
			const run = () => engine.read(ws, ids);
			let states;
			if (countCommands) {
				const counted = await countCommands(run);
				states = counted.result;
				expect(counted.commands).toEqual(['mget']);
			} else {
				states = await run();
			}
			expect(states.size).toBe(1000);
			expect(
				[...states.values()]
					.filter((s) => s.isOnline)
					.map((s) => s.userId)
					.sort()
			).toEqual(['p7', 'p999']);
			expect(states.get('p0')).toEqual({
				userId: 'p0',
				isOnline: false,
				focusConversationId: null,
				currentPage: null,
				lastSeenAt: null,
				version: 0
			});
		});

		it('online() lists who is live or within the grace once each, with page, visit start and pages seen, in one round trip', async () => {
			const { engine, ws, countCommands } = await setup();
			const before = Date.now();
			const a = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.page(a.connectionId, { url: 'https://shop.test/a', title: 'A' });
			await engine.connect({ workspaceId: ws, userId: 'v2' });
			await engine.connect({ workspaceId: ws, userId: 'v2' }); // a second tab: still one person
			const other = await engine.connect({ workspaceId: uniqueId('ws'), userId: 'x' });
			const gone = await engine.connect({ workspaceId: ws, userId: 'v3' });
			await engine.disconnect(gone.connectionId);
			const ids = async () => (await engine.online(ws, 100)).map((s) => s.userId).sort();
			// v1 and v2 listed too: a read that failed on loaded cores answers nobody (when in
			// doubt, offline), which would pass for v3 gone while it is still within the grace.
			await waitFor(
				async () => (await ids()).join() === 'v1,v2',
				'v3 offline after the grace, v1 and v2 still listed'
			);

			const run = () => engine.online(ws, 100);
			let online;
			if (countCommands) {
				const counted = await countCommands(run);
				online = counted.result;
				// Only the script (EVALSHA, which the filter leaves out with the timers'): no MGET, no HGETs.
				expect(counted.commands).toEqual([]);
			} else {
				online = await run();
			}
			expect(online.map((s) => s.userId).sort()).toEqual(['v1', 'v2']);
			const v1 = online.find((s) => s.userId === 'v1')!;
			expect(v1).toMatchObject({
				isOnline: true,
				currentPage: { url: 'https://shop.test/a', title: 'A' }
			});
			expect(v1.pagesSeen).toBe(1);
			expect(online.find((s) => s.userId === 'v2')!.pagesSeen).toBeUndefined();
			const visitStart = v1.lastSeenAt!;
			expect(visitStart).toBeGreaterThanOrEqual(before - 1000);
			expect(await engine.online(ws, 1)).toHaveLength(1);

			// A reload within the grace keeps the visit (and its start); after the grace it is over.
			await engine.disconnect(a.connectionId);
			expect(await ids()).toEqual(['v1', 'v2']);
			const b = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.page(b.connectionId, { url: 'https://shop.test/b', title: 'B' });
			const again = (await engine.online(ws, 100)).find((s) => s.userId === 'v1')!;
			expect(again.lastSeenAt).toBe(visitStart);
			// Pages seen count the visit's page reports, across the reload.
			expect(again.pagesSeen).toBe(2);
			expect((await engine.read(ws, ['v1'])).get('v1')!.pagesSeen).toBe(2);
			// A new visit starts counting again.
			await engine.disconnect(b.connectionId);
			await waitFor(async () => (await ids()).join() === 'v2', 'v1 offline after the grace');
			expect((await engine.read(ws, ['v1'])).get('v1')!.pagesSeen).toBeUndefined();
			const c = await engine.connect({ workspaceId: ws, userId: 'v1' });
			await engine.page(c.connectionId, { url: 'https://shop.test/c', title: 'C' });
			expect((await engine.online(ws, 100)).find((s) => s.userId === 'v1')!.pagesSeen).toBe(1);
			await engine.disconnect(other.connectionId);
		});

		it('listeners stop at abort; a failing last_seen store is retried without breaking presence', async () => {
			const { engine, ws, events, lastSeen } = await setup({ graceMs: 0 });
			lastSeen.failNext = 2;
			const other = new AbortController();
			const second = await listen(engine, ws, other.signal);
			other.abort();
			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
			await engine.disconnect(connectionId);
			await waitFor(() => events.of('u1').length === 2, 'online and offline');
			expect(second.events).toHaveLength(0);
			await waitFor(() => lastSeen.of('u1').length >= 1, 'last_seen written after retries');
		});

		it('stop() says goodbye with the grace', async () => {
			const { engine, ws, events, lastSeen } = await setup();
			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'u1' });
			await waitFor(() => events.of('u1').length === 1, 'online');
			// A second engine keeps listening and sweeping (for Redis: another node).
			const watcher = await setup();
			const seen = await listen(watcher.engine, ws, watcher.signal);
			await engine.stop();
			expect(await watcher.engine.owner(connectionId)).toBeNull();
			if (watcher.onStop === 'offline') {
				// With last_seen_at written before the process exits.
				expect(events.of('u1').map((e) => e.isOnline)).toEqual([true, false]);
				const offline = events.of('u1').at(-1)!;
				expect(lastSeen.of('u1').at(-1)?.at.getTime()).toBe(offline.lastSeenAt);
				return;
			}
			await waitFor(() => seen.of('u1').some((e) => !e.isOnline), 'offline after the goodbye');
		});
	});
}
