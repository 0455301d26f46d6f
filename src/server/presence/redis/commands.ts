import type { HeartbeatLimit, PresenceChange } from '../types';
import type { RedisClient } from './client';
import { decodeChange } from './codec';
import { GLOBAL_SCRIPTS, READ_SCRIPTS, WORKSPACE_SCRIPTS } from './scripts';

/**
 * Typed calls of the scripts, defined on the command client with ioredis `defineCommand`
 * (EVALSHA, falling back to EVAL once per connection when Redis does not know the script,
 * e.g. after a restart).
 */

type ScriptName =
	keyof typeof WORKSPACE_SCRIPTS | keyof typeof GLOBAL_SCRIPTS | keyof typeof READ_SCRIPTS;
type ScriptFn = (key: string, ...args: (string | number)[]) => Promise<unknown>;
type WithScripts = { [name in ScriptName]: ScriptFn };

/** What every workspace script returns first: the changes it published and who to mark last seen. */
export interface TransitionResult<Extra> {
	changes: PresenceChange[];
	/** People who came online or went offline, at `now` (epoch ms, Redis clock). */
	seen: string[];
	now: number;
	extra: Extra;
}

export function defineScripts(redis: RedisClient): void {
	const defined = redis as unknown as Partial<WithScripts>;
	for (const [name, lua] of Object.entries({
		...WORKSPACE_SCRIPTS,
		...GLOBAL_SCRIPTS,
		...READ_SCRIPTS
	})) {
		// Defining twice (two engines on one client, e.g. tests) would be harmless but skip it.
		if (typeof defined[name as ScriptName] !== 'function') {
			redis.defineCommand(name, { lua, numberOfKeys: 1 });
		}
	}
}

export class ScriptCaller {
	#redis: WithScripts;
	#summaryTtlMs: number;

	constructor(redis: RedisClient, summaryTtlMs: number) {
		defineScripts(redis);
		this.#redis = redis as unknown as WithScripts;
		this.#summaryTtlMs = summaryTtlMs;
	}

	/** Runs a workspace script; parses the common head of its reply. */
	async workspace<Extra = unknown>(
		name: keyof typeof WORKSPACE_SCRIPTS,
		base: string,
		workspaceId: string,
		args: (string | number)[]
	): Promise<TransitionResult<Extra[]> | null> {
		const reply = (await this.#redis[name](base, workspaceId, this.#summaryTtlMs, ...args)) as
			[string[], string[], number, ...Extra[]] | null;
		if (reply === null) return null;
		const [changes, seen, now, ...extra] = reply;
		return {
			changes: changes.map(decodeChange).filter((c): c is PresenceChange => c !== null),
			seen,
			now: Number(now),
			extra
		};
	}

	/**
	 * The heartbeat script answers a bare 0/1: no changes ever come from it. With `userId`, a
	 * connection of someone else counts as unknown (ownership checked in the same round trip).
	 */
	async heartbeat(
		base: string,
		workspaceId: string,
		connectionId: string,
		timeoutMs: number,
		userId = '',
		limit?: HeartbeatLimit
	): Promise<boolean | 'limited'> {
		const reply = await this.#redis.presenceHeartbeat(
			base,
			workspaceId,
			this.#summaryTtlMs,
			connectionId,
			timeoutMs,
			userId,
			limit && userId ? limit.limit : 0,
			limit?.windowMs ?? 0
		);
		if (reply === -1) return 'limited';
		return reply === 1;
	}

	/** `[user, summary, user, summary, …]` of the workspace's people online now (see ONLINE). */
	async online(base: string, limit: number, scan: number): Promise<string[]> {
		return (await this.#redis.presenceOnline(base, limit, scan)) as string[];
	}

	async claimDue(dueKey: string, limit: number, markerMs: number): Promise<[string, string][]> {
		const flat = (await this.#redis.presenceClaimDue(dueKey, limit, markerMs)) as string[];
		const pairs: [string, string][] = [];
		for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
		return pairs;
	}

	async noteDue(dueKey: string, workspaceId: string, deadline: number): Promise<void> {
		await this.#redis.presenceNoteDue(dueKey, workspaceId, deadline);
	}

	async settleDue(
		dueKey: string,
		workspaceId: string,
		marker: string,
		next: number | null
	): Promise<void> {
		await this.#redis.presenceSettleDue(dueKey, workspaceId, marker, next ?? '');
	}
}
