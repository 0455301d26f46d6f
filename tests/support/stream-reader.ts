import { Waiters } from './waiters';
import type { StreamEvent } from '../../src/lib/contract';

/**
 * Reads a presence stream in the background and lets a test wait for the event it expects.
 * Works on the caller's raw generator (tracked envelopes) and on the client's `onData` values.
 */
export class StreamReader {
	readonly events: StreamEvent[] = [];
	#waiters = new Waiters<StreamEvent>();
	/** Events already handed to a `next` caller: each matches at most one wait. */
	#consumed = new Set<number>();
	ended = false;
	done: Promise<void>;

	constructor(source?: AsyncIterable<unknown>) {
		this.done = source ? this.#pump(source) : Promise.resolve();
	}

	async #pump(source: AsyncIterable<unknown>) {
		try {
			for await (const value of source) this.push(value);
		} finally {
			this.ended = true;
		}
	}

	/** Accepts a raw value: a tracked envelope `[id, data, symbol]`, or `{ id, data }`, or the event. */
	push(value: unknown): void {
		let event = value as StreamEvent;
		if (Array.isArray(value) && value.length === 3) event = value[1] as StreamEvent;
		else if (value && typeof value === 'object' && 'data' in value && 'id' in value)
			event = (value as { data: StreamEvent }).data;
		const index = this.events.push(event) - 1;
		if (this.#waiters.offer(event)) this.#consumed.add(index);
	}

	/** The first matching event not handed out yet: already received, or the next to arrive. */
	next<T extends StreamEvent>(test: (e: StreamEvent) => e is T, timeoutMs?: number): Promise<T>;
	next(test: (e: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
	next(test: (e: StreamEvent) => boolean, timeoutMs = 15_000): Promise<StreamEvent> {
		for (let i = 0; i < this.events.length; i++) {
			if (!this.#consumed.has(i) && test(this.events[i]!)) {
				this.#consumed.add(i);
				return Promise.resolve(this.events[i]!);
			}
		}
		return this.#waiters.wait(test, timeoutMs, () => JSON.stringify(this.events.slice(-5)));
	}

	ready() {
		return this.next((e): e is Extract<StreamEvent, { type: 'ready' }> => e.type === 'ready');
	}

	presenceOf(
		userId: string,
		test: (e: Extract<StreamEvent, { type: 'presence' }>) => boolean = () => true
	) {
		return this.next(
			(e): e is Extract<StreamEvent, { type: 'presence' }> =>
				e.type === 'presence' && e.userId === userId && test(e)
		);
	}

	/** Presence events received so far about this person. */
	presenceEventsOf(userId: string) {
		return this.events.filter(
			(e): e is Extract<StreamEvent, { type: 'presence' }> =>
				e.type === 'presence' && e.userId === userId
		);
	}
}
