import { BurstWindow } from '../../redis/burst-window';
import type { HeartbeatLimit, PresenceChange } from '../types';
import type { RedisClient } from './client';
import { decodeChange } from './codec';
import type { PresenceKeys } from './keys';
import { SCRIPT_SOURCES, type ScriptName } from './script-sources';

/**
 * A typed method per Lua script (lua/*.lua), each putting its arguments in the order its
 * script's header gives. Each transition is ONE script, so it is atomic: the registry, the
 * person's summary, the deadline sets and the PUBLISH of the resulting change all happen
 * together, and publish order equals script order (listeners see versions increase).
 *
 * The scripts are defined on the command client with ioredis `defineCommand` (EVALSHA, falling
 * back to EVAL once per connection when Redis does not know the script, e.g. after a restart).
 */

/** Workspace scripts run at once by one batch (a sweep, a reap, a flush): they pipeline on the one connection. */
export const PARALLEL = 32;

type ScriptFn = (key: string, ...args: (string | number)[]) => Promise<unknown>;
type WithScripts = { [name in ScriptName]: ScriptFn };

/**
 * How long the commands of a burst of opens, closes or heartbeats gather before they leave in
 * one write (`BurstWindow`): a lone one is sent at once, one of a burst waits at most this.
 */
const BURST_HOLD_MS = 2;

/** What every workspace transition returns first: the changes it published and who was seen. */
export interface Transition {
	changes: PresenceChange[];
	/** People who came online or went offline, at `now` (epoch ms, Redis clock). */
	seen: string[];
	now: number;
}

/** Called after every workspace transition, with its workspace (e.g. last_seen_at writes). */
export type TransitionObserver = (workspaceId: string, transition: Transition) => void;

/** What the reply of a workspace script holds after the head: script-specific results. */
type Reply<Extra extends unknown[]> = [string[], string[], number, ...Extra];

export function defineScripts(redis: RedisClient): void {
	const defined = redis as unknown as Partial<WithScripts>;
	for (const [name, lua] of Object.entries(SCRIPT_SOURCES)) {
		// Defining twice (two engines on one client, e.g. tests) would be harmless but skip it.
		if (typeof defined[name as ScriptName] !== 'function') {
			redis.defineCommand(name, { lua, numberOfKeys: 1 });
		}
	}
}

function toNumberOrNull(raw: number | string | null | undefined): number | null {
	return raw === null || raw === undefined ? null : Number(raw);
}

export class PresenceScripts {
	#redis: WithScripts;
	#keys: PresenceKeys;
	#summaryTtlMs: number;
	#observe: TransitionObserver;
	/**
	 * One window per kind: a register (someone coming online) waits only behind other registers,
	 * never behind the node's steady heartbeats.
	 */
	#bursts: Record<'register' | 'heartbeat' | 'disconnect', BurstWindow>;

	constructor(
		redis: RedisClient,
		keys: PresenceKeys,
		summaryTtlMs: number,
		observe: TransitionObserver
	) {
		defineScripts(redis);
		this.#redis = redis as unknown as WithScripts;
		this.#keys = keys;
		this.#summaryTtlMs = summaryTtlMs;
		this.#observe = observe;
		this.#bursts = {
			register: new BurstWindow(redis, BURST_HOLD_MS),
			heartbeat: new BurstWindow(redis, BURST_HOLD_MS),
			disconnect: new BurstWindow(redis, BURST_HOLD_MS)
		};
	}

	/**
	 * ARGV[3…] of register.lua; `read`: people whose summaries come back too (raw, as MGET
	 * answers them). Throws when Redis answers nothing (it always should).
	 */
	async register(a: {
		workspaceId: string;
		connectionId: string;
		userId: string;
		holder: string;
		heartbeatTimeoutMs: number;
		focus: string | null;
		focusAt: string;
		page: string | null;
		pageAt: string;
		inheritedFocusMs: number;
		read?: readonly string[];
	}): Promise<Transition & { due: number | null; summaries: (string | null)[] | null }> {
		const reply = await this.#transition<[number?, (string | null)[]?]>(
			'presenceRegister',
			a.workspaceId,
			[
				a.connectionId,
				a.userId,
				a.holder,
				a.heartbeatTimeoutMs,
				a.focus ?? '',
				a.focusAt,
				a.page ?? '',
				a.pageAt,
				a.inheritedFocusMs,
				...(a.read ?? [])
			],
			this.#bursts.register
		);
		if (!reply) throw new Error('register returned nothing');
		return {
			...reply.head,
			due: toNumberOrNull(reply.extra[0]),
			summaries: reply.extra[1] ?? null
		};
	}

	/**
	 * heartbeat.lua answers a bare 0/1 (or -1 when limited): no changes ever come from it. With
	 * `userId`, a connection of someone else counts as unknown (ownership checked in the same
	 * round trip).
	 */
	async heartbeat(a: {
		workspaceId: string;
		connectionId: string;
		heartbeatTimeoutMs: number;
		userId?: string;
		limit?: HeartbeatLimit;
	}): Promise<boolean | 'limited'> {
		const userId = a.userId ?? '';
		const reply = await this.#bursts.heartbeat.send(() =>
			this.#redis.presenceHeartbeat(
				this.#keys.workspace(a.workspaceId),
				a.workspaceId,
				this.#summaryTtlMs,
				a.connectionId,
				a.heartbeatTimeoutMs,
				userId,
				a.limit && userId ? a.limit.limit : 0,
				a.limit?.windowMs ?? 0
			)
		);
		if (reply === -1) return 'limited';
		return reply === 1;
	}

	/** ARGV[3…] of disconnect.lua; `userId` null when Redis did not know the connection. */
	async disconnect(a: {
		workspaceId: string;
		connectionId: string;
		graceMs: number;
	}): Promise<(Transition & { graceEnd: number | null; userId: string | null }) | null> {
		const reply = await this.#transition<[(number | null)?, (string | null)?]>(
			'presenceDisconnect',
			a.workspaceId,
			[a.connectionId, a.graceMs],
			this.#bursts.disconnect
		);
		if (!reply) return null;
		const [graceEnd, userId] = reply.extra;
		return {
			...reply.head,
			graceEnd: toNumberOrNull(graceEnd),
			userId: typeof userId === 'string' ? userId : null
		};
	}

	/** ARGV[3…] of report.lua. Null when Redis does not know the connection. */
	async report(a: {
		workspaceId: string;
		connectionId: string;
		field: 'f' | 'p';
		value: string;
		via: string;
	}): Promise<(Transition & { reportedAt: string }) | null> {
		const reply = await this.#transition<[string?]>('presenceReport', a.workspaceId, [
			a.connectionId,
			a.field,
			a.value,
			a.via
		]);
		return reply && { ...reply.head, reportedAt: reply.extra[0] ?? '0' };
	}

	/** ARGV[3…] of sweep.lua; `next` is the workspace's next due time, null when none is left. */
	async sweep(a: {
		workspaceId: string;
		batch: number;
	}): Promise<(Transition & { next: number | null }) | null> {
		const reply = await this.#transition<[(number | null)?]>('presenceSweep', a.workspaceId, [
			a.batch
		]);
		return reply && { ...reply.head, next: toNumberOrNull(reply.extra[0]) };
	}

	/** ARGV[3…] of expire-holder.lua; `expired` counts the connections removed. */
	async expireHolder(a: {
		workspaceId: string;
		holder: string;
	}): Promise<(Transition & { expired: number }) | null> {
		const reply = await this.#transition<[number?]>('presenceExpireHolder', a.workspaceId, [
			a.holder
		]);
		return reply && { ...reply.head, expired: Number(reply.extra[0] ?? 0) };
	}

	/** ARGV[3…] of reconcile.lua; `newer` is `[user, summary, user, summary, …]`. */
	async reconcile(a: {
		workspaceId: string;
		held: readonly { userId: string; version: number }[];
	}): Promise<(Transition & { newer: string[] }) | null> {
		const pairs = a.held.flatMap((h) => [h.userId, String(h.version)]);
		const reply = await this.#transition<[string[]?]>('presenceReconcile', a.workspaceId, pairs);
		return reply && { ...reply.head, newer: reply.extra[0] ?? [] };
	}

	/** ARGV[3…] of idle.lua. Null when Redis does not know the connection. */
	async idle(a: {
		workspaceId: string;
		connectionId: string;
		idle: boolean;
	}): Promise<Transition | null> {
		const reply = await this.#transition<[]>('presenceIdle', a.workspaceId, [
			a.connectionId,
			a.idle ? '1' : '0'
		]);
		return reply && reply.head;
	}

	/** ARGV[3…] of availability.lua. */
	async availability(a: {
		workspaceId: string;
		userId: string;
		availability: string;
	}): Promise<Transition | null> {
		const reply = await this.#transition<[]>('presenceAvailability', a.workspaceId, [
			a.userId,
			a.availability
		]);
		return reply && reply.head;
	}

	/** ARGV[3…] of typing.lua. Null when Redis does not know the connection. */
	async typing(a: {
		workspaceId: string;
		connectionId: string;
		conversationId: string;
		ttlMs: number;
	}): Promise<(Transition & { deadline: number; started: boolean; userId: string }) | null> {
		const reply = await this.#transition<[number?, number?, string?]>(
			'presenceTyping',
			a.workspaceId,
			[a.connectionId, a.conversationId, a.ttlMs]
		);
		if (!reply) return null;
		const [deadline, started, userId] = reply.extra;
		return {
			...reply.head,
			deadline: Number(deadline),
			started: started === 1,
			userId: String(userId)
		};
	}

	/** ARGV[3…] of stop-typing.lua; `ended` when the person was typing there. */
	async stopTyping(a: {
		workspaceId: string;
		conversationId: string;
		userId: string;
	}): Promise<(Transition & { ended: boolean }) | null> {
		const reply = await this.#transition<[number?]>('presenceStopTyping', a.workspaceId, [
			a.conversationId,
			a.userId
		]);
		return reply && { ...reply.head, ended: reply.extra[0] === 1 };
	}

	/** ARGV of online.lua: `[user, summary, user, summary, …]` of the workspace's people online. */
	async online(a: { workspaceId: string; limit: number; scan: number }): Promise<string[]> {
		return (await this.#redis.presenceOnline(
			this.#keys.workspace(a.workspaceId),
			a.limit,
			a.scan
		)) as string[];
	}

	/** ARGV of claim-due.lua: `[workspace, marker]` pairs now claimed by this node. */
	async claimDue(a: { limit: number; markerMs: number }): Promise<[string, string][]> {
		const flat = (await this.#redis.presenceClaimDue(
			this.#keys.due,
			a.limit,
			a.markerMs
		)) as string[];
		const pairs: [string, string][] = [];
		for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
		return pairs;
	}

	/** ARGV of note-due.lua. */
	async noteDue(a: { workspaceId: string; deadline: number }): Promise<void> {
		await this.#redis.presenceNoteDue(this.#keys.due, a.workspaceId, a.deadline);
	}

	/** ARGV of settle-due.lua. */
	async settleDue(a: { workspaceId: string; marker: string; next: number | null }): Promise<void> {
		await this.#redis.presenceSettleDue(this.#keys.due, a.workspaceId, a.marker, a.next ?? '');
	}

	/**
	 * Runs a workspace script (ARGV[1..2] as prelude.lua reads them, then `args`), parses the
	 * common head of its reply and tells the observer. Null when the script answered nil.
	 * `burst`: the window of its kind, when one of a burst may wait to share a write.
	 */
	async #transition<Extra extends unknown[]>(
		name: ScriptName,
		workspaceId: string,
		args: (string | number)[],
		burst?: BurstWindow
	): Promise<{ head: Transition; extra: Partial<Extra> } | null> {
		const send = () =>
			this.#redis[name](
				this.#keys.workspace(workspaceId),
				workspaceId,
				this.#summaryTtlMs,
				...args
			);
		const reply = (await (burst ? burst.send(send) : send())) as Reply<Extra> | null;
		if (reply === null) return null;
		const [changes, seen, now, ...extra] = reply;
		const head: Transition = {
			changes: changes.map(decodeChange).filter((c): c is PresenceChange => c !== null),
			seen,
			now: Number(now)
		};
		this.#observe(workspaceId, head);
		return { head, extra: extra as Partial<Extra> };
	}
}
