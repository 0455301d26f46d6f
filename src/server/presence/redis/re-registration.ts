import type { NodeLease } from './node-lease';
import { PARALLEL } from './presence-scripts';

/**
 * Held connections whose registration or last report may be missing in Redis (Redis was away,
 * lost them, or the lease lapsed), and the flush that registers them again: at each lease tick,
 * at once after a reincarnation during a registration. A connection leaves the set only when
 * `reRegister` (held-connections.ts) says it is registered under the current incarnation.
 */
export class ReRegistration {
	#lease: NodeLease;
	#reRegister: (connectionId: string) => Promise<void>;
	#dirty = new Set<string>();
	#flushing: Promise<void> | null = null;

	constructor(lease: NodeLease, reRegister: (connectionId: string) => Promise<void>) {
		this.#lease = lease;
		this.#reRegister = reRegister;
	}

	add(connectionId: string): void {
		this.#dirty.add(connectionId);
	}

	delete(connectionId: string): void {
		this.#dirty.delete(connectionId);
	}

	clear(): void {
		this.#dirty.clear();
	}

	/** One flush at a time; a call while one runs joins it. */
	flush(): Promise<void> {
		if (this.#flushing) return this.#flushing;
		// Cleared in a `.finally`, which always runs after this assignment: clearing it inside the
		// async body ran synchronously when there was nothing to flush, before the assignment, and
		// left a settled promise here for good, so nothing dirty was ever flushed again (live
		// connections stayed under an old incarnation after a Redis restart; the truth benchmark's
		// crash ghosts).
		const flushing = this.#passes().finally(() => {
			if (this.#flushing === flushing) this.#flushing = null;
		});
		this.#flushing = flushing;
		return flushing;
	}

	async #passes(): Promise<void> {
		// A second pass when we reincarnated during the first: what the first registered under the
		// old incarnation is dirty again, and waiting for the next lease tick would leave it
		// without a live lease for that long.
		for (let pass = 0; pass < 2 && this.#dirty.size > 0; pass++) {
			const holder = this.#lease.holder;
			const ids = [...this.#dirty];
			for (let i = 0; i < ids.length; i += PARALLEL) {
				await Promise.all(ids.slice(i, i + PARALLEL).map((id) => this.#reRegister(id)));
			}
			if (holder === this.#lease.holder) break;
		}
	}
}
