/**
 * A stream's backlog: events wait here until the client reads them. Past `limit` the queue
 * overflows: it drops everything it holds and calls `onOverflow`, and the stream closes (the
 * client reconnects and resyncs from a fresh snapshot). A slow client never grows memory.
 * `signal` ends the queue: a waiting reader gets null. It is listened to once, not per item:
 * a busy stream takes thousands of items.
 */
export class BoundedQueue<T> {
	#items: T[] = [];
	#waiting: ((value: T | null) => void) | null = null;
	#limit: number;
	#onOverflow: () => void;
	#overflowed = false;
	#signal: AbortSignal;

	constructor(limit: number, signal: AbortSignal, onOverflow: () => void) {
		this.#limit = limit;
		this.#onOverflow = onOverflow;
		this.#signal = signal;
		signal.addEventListener('abort', () => this.#wake(null), { once: true });
	}

	get size(): number {
		return this.#items.length;
	}

	get overflowed(): boolean {
		return this.#overflowed;
	}

	push(item: T): void {
		if (this.#overflowed || this.#signal.aborted) return;
		if (this.#waiting) {
			this.#wake(item);
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

	/** The next item, or null once the signal aborted or the queue overflowed. */
	next(): Promise<T | null> {
		if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
		if (this.#signal.aborted || this.#overflowed) return Promise.resolve(null);
		return new Promise((resolve) => {
			this.#waiting = resolve;
		});
	}

	clear(): void {
		this.#items = [];
	}

	#wake(value: T | null) {
		const resolve = this.#waiting;
		this.#waiting = null;
		resolve?.(value);
	}
}
