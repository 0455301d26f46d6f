import type { LastSeenStore } from '../types';
import type { ThrottledLog } from './logger';

/**
 * Batches `last_seen_at` writes (docs/design.md §2: written when a person comes online and when
 * they go offline). Presence never waits on Postgres: entries are queued, written on `flush()`
 * (each sweep tick), and on failure kept and retried at the next tick. Only the newest time per
 * person is kept, so a long outage costs memory per person, not per transition.
 */
export class LastSeenWriter {
	#store: LastSeenStore;
	#log: ThrottledLog;
	/** `${workspaceId}\u0000${userId}` -> newest time. */
	#pending = new Map<string, { workspaceId: string; userId: string; at: number }>();
	#flushing: Promise<void> | null = null;
	/** Bounds memory during a very long Postgres outage; past it the oldest entries are dropped. */
	#limit: number;

	constructor(store: LastSeenStore, log: ThrottledLog, limit = 100_000) {
		this.#store = store;
		this.#log = log;
		this.#limit = limit;
	}

	add(workspaceId: string, userId: string, at: number): void {
		const key = `${workspaceId}\u0000${userId}`;
		const seen = this.#pending.get(key);
		if (seen && seen.at >= at) return;
		this.#pending.delete(key); // re-insert: Map order then stays oldest-first
		this.#pending.set(key, { workspaceId, userId, at });
		while (this.#pending.size > this.#limit) {
			const oldest = this.#pending.keys().next().value;
			if (oldest === undefined) break;
			this.#pending.delete(oldest);
			this.#log.warn('last-seen-drop', 'last_seen_at queue full, dropping the oldest entries');
		}
	}

	get size(): number {
		return this.#pending.size;
	}

	/** Writes what is queued; never rejects. Concurrent calls share one write. */
	flush(): Promise<void> {
		if (this.#flushing) return this.#flushing;
		if (this.#pending.size === 0) return Promise.resolve();
		const batch = [...this.#pending.values()];
		this.#pending.clear();
		this.#flushing = (async () => {
			try {
				await this.#store.write(
					batch.map(({ workspaceId, userId, at }) => ({ workspaceId, userId, at: new Date(at) }))
				);
			} catch (error) {
				// Put them back (newer entries that arrived meanwhile win) and retry next tick.
				for (const entry of batch) this.add(entry.workspaceId, entry.userId, entry.at);
				this.#log.warn('last-seen', 'writing last_seen_at failed, will retry', error);
			} finally {
				this.#flushing = null;
			}
		})();
		return this.#flushing;
	}
}
