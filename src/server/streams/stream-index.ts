/**
 * Streams by person (a workspace's watchers or owners). Most people have one stream, so a lone
 * stream is held as itself and a Set only from the second on: at 10,000 visitor streams the
 * one-entry Sets were about 0.4 KB of heap per stream, against an 8 KB budget.
 */
const NONE: readonly never[] = [];

export class StreamIndex<S> {
	#byPerson = new Map<string, S | Set<S>>();

	add(userId: string, stream: S): void {
		const held = this.#byPerson.get(userId);
		if (held === undefined) this.#byPerson.set(userId, stream);
		else if (held instanceof Set) held.add(stream);
		else if (held !== stream) this.#byPerson.set(userId, new Set([held, stream]));
	}

	remove(userId: string, stream: S): void {
		const held = this.#byPerson.get(userId);
		if (held === undefined) return;
		if (!(held instanceof Set)) {
			if (held === stream) this.#byPerson.delete(userId);
			return;
		}
		held.delete(stream);
		if (held.size === 1) this.#byPerson.set(userId, held.values().next().value as S);
	}

	has(userId: string): boolean {
		return this.#byPerson.has(userId);
	}

	/** The person's streams: their Set, or a list of their one stream, or an empty list. */
	of(userId: string): Iterable<S> {
		const held = this.#byPerson.get(userId);
		if (held === undefined) return NONE;
		return held instanceof Set ? held : [held];
	}

	/** Calls `visit` for each of the person's streams. */
	forEach(userId: string, visit: (stream: S) => void): void {
		const held = this.#byPerson.get(userId);
		if (held === undefined) return;
		if (held instanceof Set) for (const stream of held) visit(stream);
		else visit(held);
	}

	people(): IterableIterator<string> {
		return this.#byPerson.keys();
	}
}
