/** Sends `presence.typing` for one conversation from one live connection. */
export type TypingCall = (
	connectionId: string,
	conversationId: string
) => Promise<{ ttlMs: number }>;

/**
 * This tab's typing reports. At most one call per TTL/3: the server keeps the indicator up for
 * its TTL after each, and ends it by itself when the calls stop (docs/design.md §2, typing).
 */
export class TypingReports {
	#connectionId: () => string | null;
	#call: TypingCall;
	/** When this tab last told the server it types, per conversation. */
	#sent = new Map<string, number>();
	#everyMs = 2000;
	#inFlight = new Map<string, Promise<void>>();

	constructor(connectionId: () => string | null, call: TypingCall) {
		this.#connectionId = connectionId;
		this.#call = call;
	}

	/** The user typed in the conversation's composer. */
	report(conversationId: string) {
		const connectionId = this.#connectionId();
		if (!connectionId) return;
		const now = Date.now();
		if (now - (this.#sent.get(conversationId) ?? 0) < this.#everyMs) return;
		this.#sent.set(conversationId, now);
		const call = this.#call(connectionId, conversationId).then(
			(reply) => {
				this.#everyMs = Math.max(500, Math.floor(reply.ttlMs / 3));
			},
			() => {
				this.#sent.delete(conversationId);
			}
		);
		this.#inFlight.set(conversationId, call);
		void call.finally(() => {
			if (this.#inFlight.get(conversationId) === call) this.#inFlight.delete(conversationId);
		});
	}

	/**
	 * Resolves once no report of this conversation is in flight. Sending waits for it: a report
	 * landing after the message (which ends typing on the server) would start "typing…" again
	 * for a whole TTL. Capped, so a stuck call never holds a message back for long.
	 */
	async settle(conversationId: string, capMs = 1000): Promise<void> {
		const call = this.#inFlight.get(conversationId);
		if (!call) return;
		let timer: ReturnType<typeof setTimeout> | undefined;
		await Promise.race([call, new Promise((resolve) => (timer = setTimeout(resolve, capMs)))]);
		clearTimeout(timer);
	}

	/** The message went (or a new connection began): the next keystroke reports again at once. */
	forget(conversationId?: string) {
		if (conversationId === undefined) this.#sent.clear();
		else this.#sent.delete(conversationId);
	}
}
