import { afterAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
	MemoryPresenceEngine,
	RedisPresenceEngine,
	type PresenceChange,
	type PresenceTimings
} from '../../../src/server/presence';
import { silentLogger } from '../../../src/server/presence/shared/logger';
import { testKeyPrefix } from '../../support/redis';
import {
	dropKeyPrefix,
	listen,
	RecordingStore,
	redisClient,
	REDIS_URL,
	sleep,
	uniqueId,
	waitFor
} from './helpers';

/**
 * Thousands of random operations on three nodes against a simple model, from a seed
 * (printed on failure; PRESENCE_SEED=<n> replays it). Operations run one at a time, so the
 * model knows their order; the engine's sweepers, lease refreshes and reapers race them.
 * After settling, every person's read() equals the model, and the listener saw each person's
 * changes once each, with strictly increasing versions.
 */

const OPERATIONS = Number(process.env.PRESENCE_OPS ?? 2500);
const SEED = Number(process.env.PRESENCE_SEED ?? Math.floor(Math.random() * 2 ** 31));
/**
 * Heartbeat timeout beyond the run: only closes and crashes end connections, so the model is
 * exact. The same for a focus lent to a connection opened within the grace: the model has no
 * clock, so lent focus never lapses here (the contract suite tests the lapse).
 */
const TIMINGS: PresenceTimings = {
	graceMs: 150,
	heartbeatTimeoutMs: 60_000,
	inheritedFocusMs: 3_600_000,
	leaseTtlMs: 600,
	sweepIntervalMs: 50
};
const MAX_CRASHES = 4;

const prefix = testKeyPrefix();
afterAll(() => dropKeyPrefix(prefix, REDIS_URL));

function mulberry32(seed: number) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

interface ModelConnection {
	ws: string;
	user: string;
	slot: number;
	focus: string | null;
	focusAt: number;
	page: string | null;
	pageAt: number;
}

interface ModelPerson {
	ws: string;
	user: string;
	live: Set<string>;
	/** Person-level values (frozen during the grace). */
	focus: string | null;
	page: string | null;
	/** Last connection closed normally: online until the grace ends (or a reconnect). */
	inGrace: boolean;
	/** Versions returned by connect() when it brought the person online. */
	onlineVersions: number[];
}

interface Slot {
	engine: RedisPresenceEngine | MemoryPresenceEngine;
	clients: Redis[];
}

/** The memory backend is one process: its three "nodes" are the same engine, and nothing crashes. */
let memory: MemoryPresenceEngine | null = null;
async function startMemorySlot(): Promise<Slot> {
	if (!memory) {
		memory = new MemoryPresenceEngine({
			timings: TIMINGS,
			lastSeen: new RecordingStore(),
			logger: silentLogger
		});
		await memory.start();
	}
	return { engine: memory, clients: [] };
}

async function startSlot(name: string): Promise<Slot> {
	const redis = redisClient();
	const subscriber = redisClient();
	await Promise.all([redis.connect(), subscriber.connect()]);
	const engine = new RedisPresenceEngine({
		redis,
		subscriber,
		keyPrefix: prefix,
		timings: TIMINGS,
		lastSeen: new RecordingStore(),
		nodeId: name,
		logger: silentLogger
	});
	await engine.start();
	return { engine, clients: [redis, subscriber] };
}

const pageJson = (url: string) => JSON.stringify({ url, title: url.slice(-2) });

describe.each(['redis', 'memory'] as const)('presence under random operations: %s', (backend) => {
	it(`matches a simple model (seed ${SEED})`, { timeout: 120_000 }, async () => {
		const start = (name: string) => (backend === 'redis' ? startSlot(name) : startMemorySlot());
		const random = mulberry32(SEED);
		const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
		const slots: Slot[] = [];
		const retired: Slot[] = [];
		const abort = new AbortController();
		const trace: string[] = [];
		try {
			for (let i = 0; i < 3; i++) slots.push(await start(`rnd${i}`));
			const workspaces = [uniqueId('ws'), uniqueId('ws')];
			const recorders = new Map<string, Awaited<ReturnType<typeof listen>>>();
			for (const ws of workspaces)
				recorders.set(ws, await listen(slots[0]!.engine, ws, abort.signal));

			const people = new Map<string, ModelPerson>();
			for (const ws of workspaces) {
				for (let u = 0; u < 15; u++) {
					const user = `u${u}`;
					people.set(`${ws}/${user}`, {
						ws,
						user,
						live: new Set(),
						focus: null,
						page: null,
						inGrace: false,
						onlineVersions: []
					});
				}
			}
			const personList = [...people.values()];
			const connections = new Map<string, ModelConnection>();
			const closed: string[] = [];
			let clock = 0;
			let crashes = 0;

			const derive = (p: ModelPerson) => {
				let focus: string | null = null;
				let focusAt = -1;
				let page: string | null = null;
				let pageAt = -1;
				for (const id of p.live) {
					const c = connections.get(id)!;
					if (c.focus !== null && c.focusAt > focusAt) [focus, focusAt] = [c.focus, c.focusAt];
					if (c.page !== null && c.pageAt > pageAt) [page, pageAt] = [c.page, c.pageAt];
				}
				return { focus, page };
			};
			const personOf = (c: ModelConnection) => people.get(`${c.ws}/${c.user}`)!;
			const pageOf = (change: PresenceChange | null) =>
				change?.currentPage ? JSON.stringify(change.currentPage) : null;
			const fail = (message: string): never => {
				throw new Error(`${message}\n  last operations:\n    ${trace.slice(-15).join('\n    ')}`);
			};

			for (let op = 0; op < OPERATIONS; op++) {
				const roll = random();
				const liveIds = [...connections.keys()];
				if (roll < 0.2 || liveIds.length < 5) {
					const p = pick(personList);
					const slot = Math.floor(random() * 3);
					trace.push(`#${op} connect ${p.ws.slice(-4)}/${p.user} on ${slot}`);
					const { connectionId, change } = await slots[slot]!.engine.connect({
						workspaceId: p.ws,
						userId: p.user
					});
					const c: ModelConnection = {
						ws: p.ws,
						user: p.user,
						slot,
						focus: null,
						focusAt: 0,
						page: null,
						pageAt: 0
					};
					if (p.live.size > 0) {
						if (change) fail(`connect of a second tab emitted ${JSON.stringify(change)}`);
					} else if (change) {
						if (!change.isOnline) fail(`connect emitted offline`);
						p.onlineVersions.push(change.version);
						p.focus = null;
						p.page = null;
					} else {
						// No change: it must have been a reconnect within the grace, inheriting.
						if (!p.inGrace) fail(`connect of an offline person emitted nothing`);
						if (p.focus !== null) [c.focus, c.focusAt] = [p.focus, ++clock];
						if (p.page !== null) [c.page, c.pageAt] = [p.page, ++clock];
					}
					p.inGrace = false;
					connections.set(connectionId, c);
					p.live.add(connectionId);
				} else if (roll < 0.35) {
					const id = pick(liveIds);
					const c = connections.get(id)!;
					const p = personOf(c);
					trace.push(`#${op} close ${c.ws.slice(-4)}/${c.user} ${id.slice(-6)}`);
					const change = await slots[c.slot]!.engine.disconnect(id);
					connections.delete(id);
					p.live.delete(id);
					closed.push(id);
					if (p.live.size > 0) {
						const next = derive(p);
						const moved = next.focus !== p.focus || next.page !== p.page;
						if (moved !== (change !== null))
							fail(`close: expected change=${moved}, got ${JSON.stringify(change)}`);
						[p.focus, p.page] = [next.focus, next.page];
					} else {
						if (change) fail(`close of the last tab emitted during the grace`);
						p.inGrace = true;
					}
				} else if (roll < 0.5) {
					const id = pick(liveIds);
					trace.push(`#${op} heartbeat ${id.slice(-6)}`);
					if (!(await pick(slots).engine.heartbeat(id)))
						fail(`heartbeat of a live connection failed`);
				} else if (roll < 0.52 && closed.length) {
					const id = pick(closed);
					trace.push(`#${op} heartbeat closed ${id.slice(-6)}`);
					if (await pick(slots).engine.heartbeat(id))
						fail(`heartbeat of a closed connection succeeded`);
				} else if (roll < 0.76 || roll >= 0.998) {
					const id = pick(liveIds);
					const c = connections.get(id)!;
					const p = personOf(c);
					const value = random() < 0.3 ? null : `conv-${Math.floor(random() * 4)}`;
					trace.push(`#${op} focus ${c.ws.slice(-4)}/${c.user} ${id.slice(-6)} ${value}`);
					const change = await pick(slots).engine.focus(id, value);
					[c.focus, c.focusAt] = [value, ++clock];
					const next = derive(p);
					const moved = next.focus !== p.focus || next.page !== p.page;
					if (moved !== (change !== null))
						fail(`focus: expected change=${moved}, got ${JSON.stringify(change)}`);
					if (change && change.focusConversationId !== next.focus) fail(`focus: wrong value`);
					[p.focus, p.page] = [next.focus, next.page];
				} else if (roll < 0.994) {
					const id = pick(liveIds);
					const c = connections.get(id)!;
					const p = personOf(c);
					const url = `https://shop.test/p${Math.floor(random() * 5)}`;
					trace.push(`#${op} page ${c.ws.slice(-4)}/${c.user} ${id.slice(-6)} ${url}`);
					const change = await pick(slots).engine.page(id, { url, title: url.slice(-2) });
					[c.page, c.pageAt] = [pageJson(url), ++clock];
					const next = derive(p);
					const moved = next.focus !== p.focus || next.page !== p.page;
					if (moved !== (change !== null))
						fail(`page: expected change=${moved}, got ${JSON.stringify(change)}`);
					if (change && pageOf(change) !== next.page) fail(`page: wrong value`);
					[p.focus, p.page] = [next.focus, next.page];
				} else if (backend === 'redis' && crashes < MAX_CRASHES) {
					// Crash node 1 or 2 (node 0 holds the listeners), start a fresh one in its place.
					crashes++;
					const slot = 1 + Math.floor(random() * 2);
					trace.push(`#${op} crash node ${slot}`);
					const dead = slots[slot]!;
					(dead.engine as RedisPresenceEngine).haltForTest();
					for (const client of dead.clients) client.disconnect();
					retired.push(dead);
					slots[slot] = await startSlot(`rnd${slot}-${crashes}`);
					const lost = [...connections].filter(([, c]) => c.slot === slot).map(([id]) => id);
					// Wait until another node's sweep reaped them all (lease TTL + sweep period).
					await waitFor(
						async () => {
							for (const id of lost) if (await slots[0]!.engine.owner(id)) return false;
							return true;
						},
						'the crashed node’s connections to expire',
						TIMINGS.leaseTtlMs + 10_000
					);
					const touched = new Set<ModelPerson>();
					for (const id of lost) {
						const c = connections.get(id)!;
						connections.delete(id);
						const p = personOf(c);
						p.live.delete(id);
						touched.add(p);
					}
					for (const p of touched) {
						if (p.live.size === 0) {
							// Expired, not closed: offline at once, no grace.
							[p.focus, p.page, p.inGrace] = [null, null, false];
						} else {
							[p.focus, p.page] = Object.values(derive(p)) as [string | null, string | null];
						}
					}
				}
			}

			// Settle: graces end, sweeps run.
			await sleep(TIMINGS.graceMs + 20 * TIMINGS.sweepIntervalMs + 500);
			for (const ws of workspaces) {
				const users = personList.filter((p) => p.ws === ws);
				const states = await slots[0]!.engine.read(
					ws,
					users.map((p) => p.user)
				);
				const recorder = recorders.get(ws)!;
				for (const p of users) {
					const state = states.get(p.user)!;
					const where = `${ws}/${p.user}`;
					const online = p.live.size > 0;
					expect(state.isOnline, `${where} online`).toBe(online);
					if (online) {
						const expected = derive(p);
						expect(state.focusConversationId, `${where} focus`).toBe(expected.focus);
						expect(
							state.currentPage ? JSON.stringify(state.currentPage) : null,
							`${where} page`
						).toBe(expected.page);
					} else {
						expect(state.currentPage).toBeNull();
					}
					// The listener: versions increase, each event shows a visible change, it ends where read() is.
					const events = recorder.of(p.user);
					let previous: PresenceChange | null = null;
					for (const event of events) {
						if (previous) {
							expect(event.version, `${where} versions`).toBeGreaterThan(previous.version);
							const same =
								event.isOnline === previous.isOnline &&
								event.focusConversationId === previous.focusConversationId &&
								pageOf(event) === pageOf(previous);
							expect(same, `${where}: an event without a visible change`).toBe(false);
						} else {
							expect(event.isOnline, `${where}: first event is online`).toBe(true);
						}
						previous = event;
					}
					if (events.length) {
						expect(events.at(-1)!.version, `${where} last event = read()`).toBe(state.version);
						expect(events.at(-1)!.isOnline).toBe(state.isOnline);
					} else {
						expect(state.version).toBe(0);
					}
					for (const version of p.onlineVersions) {
						expect(
							events.some((e) => e.version === version && e.isOnline),
							`${where}: online event ${version} delivered`
						).toBe(true);
					}
				}
			}
		} catch (error) {
			console.error(`presence randomized test failed with PRESENCE_SEED=${SEED}`);
			throw error;
		} finally {
			abort.abort();
			for (const slot of new Set(slots)) {
				await slot.engine.stop();
				for (const client of slot.clients) client.disconnect();
			}
			for (const slot of retired) for (const client of slot.clients) client.disconnect();
		}
	});
});
