import { afterAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
	MemoryPresenceEngine,
	RedisPresenceEngine,
	type PresenceChange,
	type PresenceTimings
} from '../../../src/server/presence';
import { silentLogger } from '../../../src/server/presence/shared/logger';
import * as rules from '../../../src/server/presence/shared/rules';
import { seededRandom } from '../../../src/server/names';
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
 * model knows their order; the engine's sweepers, lease refreshes and reapers race them. The
 * model decides by the rules of `shared/rules.ts` (the memory engine's too): against the Redis
 * backend this checks the Lua says the same; against both, that the engine keeps the rules.
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
	// A live node that misses its lease is reaped like a crashed one, which the model cannot
	// foresee: long enough for a loop held a second by loaded cores; crashes wait this long.
	leaseTtlMs: 1500,
	sweepIntervalMs: 50
};
const MAX_CRASHES = 4;

const prefix = testKeyPrefix();
afterAll(() => dropKeyPrefix(prefix, REDIS_URL));

interface ModelConnection extends rules.ConnectionFacts {
	ws: string;
	user: string;
	slot: number;
}

interface ModelPerson {
	ws: string;
	user: string;
	live: Set<string>;
	/** What the person shows (frozen during the grace). */
	shown: rules.Shown;
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

describe.each(['redis', 'memory'] as const)('presence under random operations: %s', (backend) => {
	it(`matches a simple model (seed ${SEED})`, { timeout: 120_000 }, async () => {
		const start = (name: string) => (backend === 'redis' ? startSlot(name) : startMemorySlot());
		const random = seededRandom(SEED);
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
						shown: rules.NOTHING_SHOWN,
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

			const derive = (p: ModelPerson) =>
				rules.derive([...p.live].map((id) => connections.get(id)!));
			const personOf = (c: ModelConnection) => people.get(`${c.ws}/${c.user}`)!;
			const fail = (message: string): never => {
				throw new Error(`${message}\n  last operations:\n    ${trace.slice(-15).join('\n    ')}`);
			};

			/** After a transition that kept the person online: a change iff what they show moved, showing it. */
			const reshow = (what: string, p: ModelPerson, change: PresenceChange | null) => {
				const next = derive(p);
				const moved = rules.shownChanged(p.shown, next);
				if (moved !== (change !== null))
					fail(`${what}: expected change=${moved}, got ${JSON.stringify(change)}`);
				if (
					change &&
					(change.focusConversationId !== next.focus ||
						!rules.samePage(change.currentPage, next.page))
				)
					fail(`${what}: wrong value ${JSON.stringify(change)}`);
				p.shown = next;
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
					// The sweepers race the model: an online change for someone in their grace says it ended.
					if (change && p.live.size === 0) p.inGrace = false;
					const outcome = rules.connectOutcome({
						connections: p.live.size,
						inGrace: p.inGrace,
						online: p.live.size > 0 || p.inGrace
					});
					// The model has no clock: lent focus never lapses here (see TIMINGS).
					const lent =
						outcome === 'inherit'
							? rules.inheritedFacts(
									{ ...rules.newSummary(), ...p.shown, reportedAt: ++clock },
									0,
									Infinity
								)
							: {};
					const c: ModelConnection = {
						ws: p.ws,
						user: p.user,
						slot,
						...rules.FRESH_CONNECTION,
						...lent
					};
					p.inGrace = false;
					connections.set(connectionId, c);
					p.live.add(connectionId);
					if (outcome === 'online') {
						const version = change?.isOnline
							? change.version
							: fail(`connect of an offline person did not bring them online`);
						p.onlineVersions.push(version);
						// Offline before: a grace that had not ended (a reload) must inherit instead.
						const recorder = recorders.get(p.ws)!;
						const { before } = (await waitFor(
							() => {
								const of = recorder.of(p.user);
								const at = of.findIndex((e) => e.version === version);
								return at >= 0 ? { before: of[at - 1] } : null;
							},
							'the online change to arrive',
							10_000
						))!;
						if (before?.isOnline) fail(`connect emitted online for someone shown online`);
						p.shown = derive(p);
					} else {
						// A reload within the grace inherits, a second tab joins: nothing visible moves.
						reshow(`connect (${outcome})`, p, change);
					}
				} else if (roll < 0.35) {
					const id = pick(liveIds);
					const c = connections.get(id)!;
					const p = personOf(c);
					trace.push(`#${op} close ${c.ws.slice(-4)}/${c.user} ${id.slice(-6)}`);
					const change = await slots[c.slot]!.engine.disconnect(id);
					connections.delete(id);
					p.live.delete(id);
					closed.push(id);
					const outcome = rules.removalOutcome(
						{ connections: p.live.size, online: true },
						'closed',
						TIMINGS.graceMs,
						0
					);
					if (outcome.kind === 'reshow') reshow('close', p, change);
					else if (outcome.kind === 'grace') {
						if (change) fail(`close of the last tab emitted during the grace`);
						p.inGrace = true;
					} else {
						if (change?.isOnline !== false) fail(`close without a grace did not go offline`);
						p.shown = rules.NOTHING_SHOWN;
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
					Object.assign(c, rules.focusReport(value, ++clock));
					reshow('focus', p, change);
				} else if (roll < 0.994) {
					const id = pick(liveIds);
					const c = connections.get(id)!;
					const p = personOf(c);
					const url = `https://shop.test/p${Math.floor(random() * 5)}`;
					trace.push(`#${op} page ${c.ws.slice(-4)}/${c.user} ${id.slice(-6)} ${url}`);
					const page = { url, title: url.slice(-2) };
					const change = await pick(slots).engine.page(id, page);
					[c.page, c.pageAt] = [page, ++clock];
					reshow('page', p, change);
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
						const outcome = rules.removalOutcome(
							{ connections: p.live.size, online: true },
							'expired',
							TIMINGS.graceMs,
							0
						);
						p.shown = outcome.kind === 'reshow' ? derive(p) : rules.NOTHING_SHOWN;
						p.inGrace = false;
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
						expect(state.focusInherited ?? false, `${where} focus inherited`).toBe(
							expected.focusInherited
						);
						expect(state.currentPage, `${where} page`).toEqual(expected.page);
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
								rules.samePage(event.currentPage, previous.currentPage);
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
