import type { StreamItem } from './viewer-scope';

/**
 * The node's last `capacity` stream items, numbered by the hub's sequence, so a client that
 * reconnects with its last event id gets what it missed instead of a new snapshot. Items of
 * every workspace share it: one array for the node, not one per stream.
 */
export class ReplayRing {
	#items: ({ seq: number; workspaceId: string; item: StreamItem } | undefined)[];
	#next = 0;
	#size = 0;

	constructor(readonly capacity: number) {
		this.#items = new Array(capacity);
	}

	push(seq: number, workspaceId: string, item: StreamItem): void {
		if (this.capacity === 0) return;
		this.#items[this.#next] = { seq, workspaceId, item };
		this.#next = (this.#next + 1) % this.capacity;
		this.#size = Math.min(this.#size + 1, this.capacity);
	}

	/** The oldest sequence number held, or null when empty. */
	#oldest(): number | null {
		if (this.#size === 0) return null;
		const start = (this.#next - this.#size + this.capacity) % this.capacity;
		return this.#items[start]!.seq;
	}

	/**
	 * The workspace's items after `seq`, oldest first, if the ring still holds every item after it
	 * (`current` is the newest sequence number the hub gave out); null when some were dropped.
	 */
	after(
		seq: number,
		current: number,
		workspaceId: string
	): { seq: number; item: StreamItem }[] | null {
		if (seq > current) return null;
		if (seq === current) return [];
		const oldest = this.#oldest();
		if (oldest === null || oldest > seq + 1) return null;
		const out: { seq: number; item: StreamItem }[] = [];
		for (let i = 0; i < this.#size; i++) {
			const entry = this.#items[(this.#next - this.#size + i + this.capacity) % this.capacity]!;
			if (entry.seq > seq && entry.workspaceId === workspaceId) out.push(entry);
		}
		return out;
	}
}
