import type { StreamEvent } from '../contract';
import { ListenerSet } from '../listener-set';

export type StreamEventType = StreamEvent['type'];
export type EventOf<T extends StreamEventType> = Extract<StreamEvent, { type: T }>;
export type Listener<T extends StreamEventType> = (event: EventOf<T>) => void;

/**
 * Listeners of stream events by type (messages, reads, previews, … for pages and widgets): the
 * server's `ListenerSet` keyed by the event's type, with an unsubscribe function instead of a
 * signal, as components want it.
 */
export class StreamEmitter {
	#listeners = StreamEmitter.#set();

	static #set() {
		return new ListenerSet<StreamEvent>({
			onError: (error) => console.error('[presence] a stream event listener failed:', error)
		});
	}

	on<T extends StreamEventType>(type: T, listener: Listener<T>): () => void {
		const off = new AbortController();
		void this.#listeners.add(type, listener as (event: StreamEvent) => void, off.signal);
		return () => off.abort();
	}

	emit(event: StreamEvent) {
		this.#listeners.emit(event.type, event);
	}

	/** Drops every listener: a new set (an unsubscribe from before only touches the old one). */
	clear() {
		this.#listeners = StreamEmitter.#set();
	}
}
