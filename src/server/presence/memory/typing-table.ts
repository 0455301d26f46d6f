import type { TypingChange } from '../types';

interface Typing {
	workspaceId: string;
	conversationId: string;
	userId: string;
	/** The tab that typed last: its going ends the typing. */
	connectionId: string;
	deadline: number;
}

/**
 * Who types where, keyed like the Redis `ty` members (`<ws>\0<conversation>|<user>`). Only starts
 * and ends come out of it (as `TypingChange`s for the engine to emit), never a repeat.
 */
export class TypingTable {
	#typing = new Map<string, Typing>();

	/** The start, or null when it only moved the deadline (and the tab that typed last). */
	type(
		person: { workspaceId: string; userId: string },
		connectionId: string,
		conversationId: string,
		deadline: number
	): TypingChange | null {
		const k = typingKey(person.workspaceId, conversationId, person.userId);
		const held = this.#typing.get(k);
		if (held) {
			held.deadline = deadline;
			held.connectionId = connectionId;
			return null;
		}
		const { workspaceId, userId } = person;
		this.#typing.set(k, { workspaceId, conversationId, userId, connectionId, deadline });
		return { workspaceId, conversationId, userId, typing: true };
	}

	/** The end, or null when they were not typing there. */
	stop(workspaceId: string, userId: string, conversationId: string): TypingChange | null {
		return this.#end(typingKey(workspaceId, conversationId, userId));
	}

	/** The ends of the typing a going connection typed last (another tab's since is not its own). */
	endOf(connectionId: string): TypingChange[] {
		const ended: TypingChange[] = [];
		for (const [k, typing] of this.#typing) {
			if (typing.connectionId === connectionId) ended.push(this.#end(k)!);
		}
		return ended;
	}

	/** The ends of typing past its deadline. */
	endDue(now: number): TypingChange[] {
		const ended: TypingChange[] = [];
		for (const [k, typing] of this.#typing) {
			if (typing.deadline <= now) ended.push(this.#end(k)!);
		}
		return ended;
	}

	#end(k: string): TypingChange | null {
		const typing = this.#typing.get(k);
		if (!typing) return null;
		this.#typing.delete(k);
		const { workspaceId, conversationId, userId } = typing;
		return { workspaceId, conversationId, userId, typing: false };
	}
}

function typingKey(workspaceId: string, conversationId: string, userId: string): string {
	return `${workspaceId}\u0000${conversationId}|${userId}`;
}
