import type { Kysely } from 'kysely';
import { viewerScopesOf, type ScopeViewer, type ViewerScopeRows } from '../db/conversations';
import type { Database } from '../db/schema';

/** Viewers per query: the arrays stay small enough to bind and plan quickly. */
const MAX_BATCH = 256;
/** People in a likely audience: register.lua reads their summaries in the same call. */
const MAX_LIKELY = 32;
/** Workspaces whose agents are remembered; past it the memory starts over. */
const MAX_WORKSPACES = 10_000;

/**
 * Reads the scopes of opening streams in as few Postgres queries as keeps them moving
 * (`viewerScopesOf` takes many viewers). At most `maxInFlight` queries run at once (one by
 * default: measured, two made more queries for the same opens and fewer opens per second); the
 * opens that come meanwhile wait for one to return and then go together, in one query. Each
 * query is a socket write that wakes a Postgres backend, which on loopback costs the node and
 * the database more CPU than the query itself: under a burst of opens the reads batch by
 * themselves, while a lone open waits for nothing. A failed query fails the opens it carried,
 * as their own queries would have.
 */
export class ScopeReader {
	#db: Kysely<Database>;
	#maxInFlight: number;
	#inFlight = 0;
	#scheduled = false;
	/** Per workspace, the agents the latest visitor's scope held. */
	#agents = new Map<string, string[]>();
	#waiting: {
		viewer: ScopeViewer;
		resolve: (rows: ViewerScopeRows) => void;
		reject: (error: unknown) => void;
	}[] = [];

	constructor(db: Kysely<Database>, options: { maxInFlight?: number } = {}) {
		this.#db = db;
		this.#maxInFlight = options.maxInFlight ?? 1;
	}

	/**
	 * Whom a viewer will likely see, before their scope is read: a visitor, themselves and the
	 * agents the workspace's previous visitor saw (a conversation's agents are mostly the same).
	 * The connection's registration reads their presence in the same round trip; anyone the
	 * scope then holds beyond the guess costs one more read, so a wrong guess costs time, never
	 * a wrong answer. Agents see too many people to guess: undefined.
	 */
	likelyAudience(viewer: ScopeViewer): string[] | undefined {
		if (viewer.kind !== 'visitor') return undefined;
		return [viewer.userId, ...(this.#agents.get(viewer.workspaceId) ?? [])];
	}

	#learn(viewer: ScopeViewer, rows: ViewerScopeRows): void {
		if (viewer.kind !== 'visitor') return;
		const agents = rows.audience.filter((row) => row.kind === 'agent').map((row) => row.id);
		if (this.#agents.size >= MAX_WORKSPACES) this.#agents.clear();
		this.#agents.set(viewer.workspaceId, agents.slice(0, MAX_LIKELY - 1));
	}

	read(viewer: ScopeViewer): Promise<ViewerScopeRows> {
		return new Promise((resolve, reject) => {
			this.#waiting.push({ viewer, resolve, reject });
			// At the end of the turn, so the opens of one turn share a query too.
			if (!this.#scheduled && this.#inFlight < this.#maxInFlight) {
				this.#scheduled = true;
				setImmediate(this.#flush);
			}
		});
	}

	#flush = (): void => {
		this.#scheduled = false;
		while (this.#waiting.length > 0 && this.#inFlight < this.#maxInFlight) {
			const batch = this.#waiting.splice(0, MAX_BATCH);
			this.#inFlight++;
			viewerScopesOf(
				this.#db,
				batch.map((w) => w.viewer)
			)
				.then(
					(scopes) =>
						batch.forEach((w, i) => {
							this.#learn(w.viewer, scopes[i]!);
							w.resolve(scopes[i]!);
						}),
					(error: unknown) => batch.forEach((w) => w.reject(error))
				)
				.finally(() => {
					this.#inFlight--;
					this.#flush();
				});
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
