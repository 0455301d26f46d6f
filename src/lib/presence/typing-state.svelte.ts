import { SvelteMap } from 'svelte/reactivity';

/**
 * Who is typing where, as the stream says. The server sends starts and ends and ends typing by
 * itself, so no client timer is needed; a fresh snapshot (`ready`) starts empty (a stream that
 * dropped may have missed an end) and a message from the typist ends it at once.
 */
export class TypingState {
	#who = new SvelteMap<string, string[]>();

	/** The people typing in a conversation (never the viewer: the server does not send those). */
	in(conversationId: string): string[] {
		return this.#who.get(conversationId) ?? [];
	}

	set(conversationId: string, userId: string, typing: boolean) {
		const now = this.in(conversationId);
		const has = now.includes(userId);
		if (typing && !has) this.#who.set(conversationId, [...now, userId]);
		else if (!typing && has) {
			const rest = now.filter((id) => id !== userId);
			if (rest.length) this.#who.set(conversationId, rest);
			else this.#who.delete(conversationId);
		}
	}

	clear() {
		this.#who.clear();
	}
}
