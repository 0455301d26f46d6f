import type { Kysely } from 'kysely';
import { viewerScopesOf, type ScopeViewer, type ViewerScopeRows } from '../db/conversations';
import type { Database } from '../db/schema';

/** Viewers per query: the arrays stay small enough to bind and plan quickly. */
const MAX_BATCH = 256;

/**
 * Reads the scopes of the streams that open during one turn of the event loop in one query
 * (`viewerScopesOf`), at the end of the turn. Two hundred visitors opening at once cost a
 * handful of queries instead of two hundred: each query is a socket write that wakes Postgres,
 * which on loopback cost node and database more CPU than the query itself. A stream waits one
 * turn at most; a failed query fails the opens it carried, as their own queries would have.
 */
export class ScopeReader {
	#db: Kysely<Database>;
	#waiting: {
		viewer: ScopeViewer;
		resolve: (rows: ViewerScopeRows) => void;
		reject: (error: unknown) => void;
	}[] = [];

	constructor(db: Kysely<Database>) {
		this.#db = db;
	}

	read(viewer: ScopeViewer): Promise<ViewerScopeRows> {
		return new Promise((resolve, reject) => {
			if (this.#waiting.length === 0) setImmediate(this.#flush);
			this.#waiting.push({ viewer, resolve, reject });
		});
	}

	#flush = (): void => {
		const waiting = this.#waiting;
		this.#waiting = [];
		for (let from = 0; from < waiting.length; from += MAX_BATCH) {
			const batch = waiting.slice(from, from + MAX_BATCH);
			viewerScopesOf(
				this.#db,
				batch.map((w) => w.viewer)
			).then(
				(scopes) => batch.forEach((w, i) => w.resolve(scopes[i]!)),
				(error: unknown) => batch.forEach((w) => w.reject(error))
			);
		}
	};
}

/** One reader per database handle (a node has one; tests may make several). */
const readers = new WeakMap<Kysely<Database>, ScopeReader>();

export function scopeReaderOf(db: Kysely<Database>): ScopeReader {
	let reader = readers.get(db);
	if (!reader) readers.set(db, (reader = new ScopeReader(db)));
	return reader;
}
