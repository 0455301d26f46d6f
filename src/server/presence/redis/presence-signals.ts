import { workspaceOfConnection } from '../shared/ids';
import type { Availability, PresenceChange, TypingChange } from '../types';
import type { DueSweeper } from './due-sweeper';
import type { EngineContext } from './engine-context';

/**
 * What a person says besides their connections' focus and page: idle or active, an agent's
 * availability, typing. Each is one script and nothing is held here: a report that cannot
 * reach Redis is not retried (the next one says it again).
 */
export class PresenceSignals {
	#ctx: EngineContext;
	#sweeper: DueSweeper;

	constructor(ctx: EngineContext, sweeper: DueSweeper) {
		this.#ctx = ctx;
		this.#sweeper = sweeper;
	}

	async idle(connectionId: string, idle: boolean): Promise<PresenceChange | null> {
		const workspaceId = workspaceOfConnection(connectionId);
		if (workspaceId === null) return null;
		try {
			const result = await this.#ctx.scripts.idle({ workspaceId, connectionId, idle });
			return result?.changes.at(-1) ?? null;
		} catch (error) {
			// Not retried: the next input or idle report says it again, and active is the safe side.
			this.#ctx.log.warn('idle', 'idle report could not reach Redis', error);
			return null;
		}
	}

	async setAvailability(
		workspaceId: string,
		userId: string,
		availability: Availability
	): Promise<PresenceChange | null> {
		try {
			const result = await this.#ctx.scripts.availability({ workspaceId, userId, availability });
			return result?.changes.at(-1) ?? null;
		} catch (error) {
			// Postgres already has it and every read falls back to it; only the live change is lost.
			this.#ctx.log.warn('availability', 'availability could not reach Redis', error);
			return null;
		}
	}

	async typing(
		connectionId: string,
		conversationId: string,
		ttlMs: number
	): Promise<TypingChange | null> {
		const workspaceId = workspaceOfConnection(connectionId);
		if (workspaceId === null) return null;
		try {
			const result = await this.#ctx.scripts.typing({
				workspaceId,
				connectionId,
				conversationId,
				ttlMs
			});
			if (!result?.started) return null;
			// The sweep must visit this workspace by the deadline, whichever node survives.
			await this.#sweeper.note(workspaceId, result.deadline);
			return { workspaceId, conversationId, userId: result.userId, typing: true };
		} catch (error) {
			// No typing shown while Redis is away: better than a "typing…" nobody can end.
			this.#ctx.log.warn('typing', 'typing could not reach Redis', error);
			return null;
		}
	}

	async stopTyping(
		workspaceId: string,
		userId: string,
		conversationId: string
	): Promise<TypingChange | null> {
		try {
			const result = await this.#ctx.scripts.stopTyping({ workspaceId, conversationId, userId });
			return result?.ended ? { workspaceId, conversationId, userId, typing: false } : null;
		} catch (error) {
			// Its deadline still ends it, within the typing TTL.
			this.#ctx.log.warn('typing', 'ending typing could not reach Redis', error);
			return null;
		}
	}
}
