/**
 * Due-index notes of one node, merged per workspace: while a note for a workspace is on its way
 * to Redis, later ones wait and go as ONE note of the earliest deadline. Each note only ever
 * lowers a workspace's due time (lua/lower-due.lua), so one note of the minimum after
 * the earlier one equals every note sent in turn, later; and no deadline is sent before the
 * transition that set it returned. Two hundred streams opening at once in one workspace cost a
 * handful of commands instead of two hundred: on loopback each command's write is tens of µs.
 */
export class DueNotes {
	#send: (workspaceId: string, deadline: number) => Promise<void>;
	/** Per workspace: a note in flight, and the merged note waiting for it (if any). */
	#workspaces = new Map<
		string,
		{ inFlight: Promise<void>; next: { deadline: number; sent: Promise<void> } | null }
	>();

	/** `send` writes one note; it may throw (the caller of `note` sees it). */
	constructor(send: (workspaceId: string, deadline: number) => Promise<void>) {
		this.#send = send;
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
		// Sent after the note in flight, whatever became of it.
		next.sent = state.inFlight.then(
			() => this.#start(workspaceId, next.deadline),
			() => this.#start(workspaceId, next.deadline)
		);
		state.next = next;
		return next.sent;
	}

	#start(workspaceId: string, deadline: number): Promise<void> {
		const inFlight = this.#send(workspaceId, deadline);
		const state = { inFlight, next: null };
		this.#workspaces.set(workspaceId, state);
		const settle = () => {
			if (this.#workspaces.get(workspaceId) === state && state.next === null) {
				this.#workspaces.delete(workspaceId);
			}
		};
		inFlight.then(settle, settle);
		return inFlight;
	}
}
