/**
 * A stream's backlog: events wait here until the client reads them. Past `limit` the queue
 * overflows: it drops everything it holds and calls `onOverflow`, and the stream closes (the
 * client reconnects and resyncs from a fresh snapshot). A slow client never grows memory.
 */
export class BoundedQueue<T> {
	#items: T[] = [];
	#waiting: ((value: T | null) => void) | null = null;
	#limit: number;
	#onOverflow: () => void;
	#overflowed = false;

	constructor(limit: number, onOverflow: () => void) {
		this.#limit = limit;
		this.#onOverflow = onOverflow;
	}

	get size(): number {
		return this.#items.length;
	}

	get overflowed(): boolean {
		return this.#overflowed;
	}

	push(item: T): void {
		if (this.#overflowed) return;
		if (this.#waiting) {
			const resolve = this.#waiting;
			this.#waiting = null;
			resolve(item);
			return;
		}
		if (this.#items.length >= this.#limit) {
			this.#overflowed = true;
			this.#items = [];
			this.#onOverflow();
			return;
		}
		this.#items.push(item);
	}

	/** The next item, or null once `signal` aborts (or already had). */
	next(signal: AbortSignal): Promise<T | null> {
		if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
		if (signal.aborted || this.#overflowed) return Promise.resolve(null);
		return new Promise((resolve) => {
			const onAbort = () => {
				this.#waiting = null;
				resolve(null);
			};
			signal.addEventListener('abort', onAbort, { once: true });
			this.#waiting = (value) => {
				signal.removeEventListener('abort', onAbort);
				resolve(value);
			};
		});
	}

	clear(): void {
		this.#items = [];
	}
}
