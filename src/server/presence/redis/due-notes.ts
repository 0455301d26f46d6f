/**
 * Due-index notes of one node, merged per workspace: while a note for a workspace is on its way
 * to Redis, and for `spacingMs` after it was sent, later ones wait and go as ONE note of the
 * earliest deadline. Each note only ever lowers a workspace's due time (lua/lower-due.lua), so
 * one note of the minimum after the earlier one equals every note sent in turn, later; and no
 * deadline is sent before the transition that set it returned. A note is late by `spacingMs` at
 * most, and nearly every note is a no-op in Redis (a new connection's deadline is later than the
 * workspace's earliest): two hundred streams opening at once in one workspace cost a handful of
 * commands instead of two hundred, and on loopback each command's write is tens of µs.
 */
export class DueNotes {
	#send: (workspaceId: string, deadline: number) => Promise<void>;
	#spacingMs: number;
	/** Per workspace: when the last note left, the one in flight, and the merged note waiting. */
	#workspaces = new Map<
		string,
		{
			startedAt: number;
			inFlight: Promise<void>;
			next: { deadline: number; sent: Promise<void> } | null;
		}
	>();

	/** `send` writes one note; it may throw (the caller of `note` sees it). */
	constructor(
		send: (workspaceId: string, deadline: number) => Promise<void>,
		options: { spacingMs?: number } = {}
	) {
		this.#send = send;
		this.#spacingMs = options.spacingMs ?? 0;
	}

	/** Resolves once a note of `deadline` or earlier for the workspace has reached Redis. */
	note(workspaceId: string, deadline: number): Promise<void> {
		const state = this.#workspaces.get(workspaceId);
		if (!state) return this.#start(workspaceId, deadline);
		if (state.next) {
			state.next.deadline = Math.min(state.next.deadline, deadline);
			return state.next.sent;
		}
		const next = { deadline, sent: Promise.resolve() };
		// Sent after the note in flight, whatever became of it, and once the spacing has passed.
		const go = () => this.#after(state.startedAt + this.#spacingMs, workspaceId, next);
		next.sent = state.inFlight.then(go, go);
		state.next = next;
		return next.sent;
	}

	async #after(
		at: number,
		workspaceId: string,
		next: { deadline: number; sent: Promise<void> }
	): Promise<void> {
		const wait = at - performance.now();
		if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
		return this.#start(workspaceId, next.deadline);
	}

	#start(workspaceId: string, deadline: number): Promise<void> {
		const inFlight = this.#send(workspaceId, deadline);
		const state = { startedAt: performance.now(), inFlight, next: null };
		this.#workspaces.set(workspaceId, state);
		const settle = () => {
			const forget = () => {
				if (this.#workspaces.get(workspaceId) === state && state.next === null) {
					this.#workspaces.delete(workspaceId);
				}
			};
			// Kept through the spacing, so a note in it waits and merges instead of going alone.
			const left = state.startedAt + this.#spacingMs - performance.now();
			if (left > 0) setTimeout(forget, left).unref();
			else forget();
		};
		inFlight.then(settle, settle);
		return inFlight;
	}
}
