import { offlineState } from '../shared/state';
import type { PresenceState } from '../types';
import { decodeSummary } from './codec';
import type { PresenceBus } from './presence-bus';
import type { EngineContext } from './engine-context';

/**
 * Presence as Redis holds it now, for snapshots. When in doubt, a person is gone: a read that
 * cannot reach Redis answers offline (docs/design.md §2).
 */
export class PresenceReads {
	#ctx: EngineContext;
	#bus: PresenceBus;

	constructor(ctx: EngineContext, bus: PresenceBus) {
		this.#ctx = ctx;
		this.#bus = bus;
	}

	async read(workspaceId: string, userIds: readonly string[]): Promise<Map<string, PresenceState>> {
		const states = new Map<string, PresenceState>();
		if (userIds.length === 0) return states;
		try {
			// ONE round trip whatever the size: all keys share the workspace's hash tag.
			const raw = await this.#ctx.redis.mget(
				userIds.map((id) => this.#ctx.keys.summary(workspaceId, id))
			);
			return this.decode(workspaceId, userIds, raw);
		} catch (error) {
			// When in doubt, assume they are gone (docs/design.md §2).
			this.#ctx.log.warn('read', 'presence read failed, answering offline', error);
			for (const id of userIds) states.set(id, offlineState(id));
		}
		return states;
	}

	/** Raw summaries as MGET (or register.lua) answers them, for `userIds` in order. */
	decode(
		workspaceId: string,
		userIds: readonly string[],
		raw: readonly (string | null)[]
	): Map<string, PresenceState> {
		const states = new Map<string, PresenceState>();
		userIds.forEach((id, i) => states.set(id, decodeSummary(id, raw[i] ?? null)));
		this.#bus.learn(workspaceId, states.values());
		return states;
	}

	async isOnline(workspaceId: string, userId: string): Promise<boolean> {
		try {
			const raw = await this.#ctx.redis.get(this.#ctx.keys.summary(workspaceId, userId));
			return decodeSummary(userId, raw).isOnline;
		} catch (error) {
			this.#ctx.log.warn('read', 'presence read failed, answering offline', error);
			return false;
		}
	}

	async online(workspaceId: string, limit: number): Promise<PresenceState[]> {
		if (limit <= 0) return [];
		try {
			// A person has a few tabs at most: looking at 4 connections per wanted person bounds
			// the script's work in a busy workspace without missing anyone in a normal one.
			const flat = await this.#ctx.scripts.online({ workspaceId, limit, scan: limit * 4 });
			const states: PresenceState[] = [];
			for (let i = 0; i + 1 < flat.length; i += 2) {
				const state = decodeSummary(flat[i]!, flat[i + 1]);
				if (state.isOnline) states.push(state);
			}
			return states;
		} catch (error) {
			this.#ctx.log.warn('read', 'online read failed, answering nobody', error);
			return [];
		}
	}
}
