import type { StreamEvent } from '../events';

export type StreamEventType = StreamEvent['type'];
export type EventOf<T extends StreamEventType> = Extract<StreamEvent, { type: T }>;
export type Listener<T extends StreamEventType> = (event: EventOf<T>) => void;

/** Listeners of stream events by type (messages, reads, previews, ... for pages and widgets). */
export class StreamEmitter {
	#listeners = new Map<StreamEventType, Set<(event: StreamEvent) => void>>();

	on<T extends StreamEventType>(type: T, listener: Listener<T>): () => void {
		let set = this.#listeners.get(type);
		if (!set) this.#listeners.set(type, (set = new Set()));
		const entry = listener as (event: StreamEvent) => void;
		set.add(entry);
		return () => void set.delete(entry);
	}

	emit(event: StreamEvent) {
		const set = this.#listeners.get(event.type);
		if (!set) return;
		for (const listener of [...set]) {
			try {
				listener(event);
			} catch (error) {
				console.error(`[presence] a "${event.type}" listener failed:`, error);
			}
		}
	}

	clear() {
		this.#listeners.clear();
	}
}
