import type { Kysely } from 'kysely';
import { viewerScopesOf, type ScopeViewer, type ViewerScopeRows } from '../db/conversations';
import type { Database } from '../db/schema';

/** Viewers per query: the arrays stay small enough to bind and plan quickly. */
const MAX_BATCH = 256;
/** People in a likely audience: register.lua reads their summaries in the same call. */
const MAX_LIKELY = 32;
/**
 * At most one query per this many ms: the opens of a burst share one. A lone open goes at once;
 * one that follows a query within it waits at most this (its `ready`, not its coming online).
 */
const HOLD_MS = 10;
/** Workspaces whose agents are remembered; past it the memory starts over. */
const MAX_WORKSPACES = 10_000;

/**
 * Reads the scopes of opening streams in as few Postgres queries as keeps them moving
 * (`viewerScopesOf` takes many viewers). Each query is a socket write that wakes a Postgres
 * backend, which on loopback costs the node and the database more CPU than the query itself.
 * A burst of opens does not gather by itself: the event loop accepts one connection per turn
 * (libuv), so the opens of a burst come one turn apart. So a query goes at the end of its turn
 * (the opens of one turn share it) and no sooner than `holdMs` after the previous one, and at
 * most `maxInFlight` run at once (one by default: measured, two made more queries for the same
 * opens and fewer opens per second). A lone open waits for nothing; under a burst, each query
 * carries the opens of the last `holdMs`. A failed query fails the opens it carried, as their
 * own queries would have.
 */
export class ScopeReader {
	#db: Kysely<Database>;
	#maxInFlight: number;
	#holdMs: number;
	#inFlight = 0;
	#scheduled = false;
	#sentAt = -Infinity;
	/** Per workspace, the agents the latest visitor's scope held. */
	#agents = new Map<string, string[]>();
	#waiting: {
		viewer: ScopeViewer;
		resolve: (rows: ViewerScopeRows) => void;
		reject: (error: unknown) => void;
	}[] = [];

	constructor(db: Kysely<Database>, options: { maxInFlight?: number; holdMs?: number } = {}) {
		this.#db = db;
		this.#maxInFlight = options.maxInFlight ?? 1;
		this.#holdMs = options.holdMs ?? HOLD_MS;
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
			this.#schedule();
		});
	}

	/**
	 * At the end of the turn, so the opens of one turn share a query too; and no sooner than
	 * `holdMs` after the previous query, so a burst's opens share one.
	 */
	#schedule(): void {
		if (this.#scheduled || this.#waiting.length === 0 || this.#inFlight >= this.#maxInFlight)
			return;
		this.#scheduled = true;
		const wait = this.#sentAt + this.#holdMs - performance.now();
		if (wait > 0) setTimeout(this.#flush, wait);
		else setImmediate(this.#flush);
	}

	#flush = (): void => {
		this.#scheduled = false;
		while (this.#waiting.length > 0 && this.#inFlight < this.#maxInFlight) {
			const batch = this.#waiting.splice(0, MAX_BATCH);
			this.#inFlight++;
			this.#sentAt = performance.now();
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
					this.#schedule();
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
