/**
 * Listeners grouped by key, removed when their signal aborts. Tells the owner when a key gains
 * its first listener or loses its last, so a channel is subscribed only while someone listens.
 * `add` resolves once the key's subscription is in place: a caller that awaits it before reading
 * a snapshot misses no change made after that read.
 */
export class ListenerSet<T> {
	#byKey = new Map<string, Set<(value: T) => void>>();
	#ready = new Map<string, Promise<void>>();
	#onFirst: (key: string) => Promise<void> | void;
	#onLast: (key: string) => void;
	#onError: (error: unknown) => void;

	constructor(
		hooks: {
			onFirst?: (key: string) => Promise<void> | void;
			onLast?: (key: string) => void;
			onError?: (error: unknown) => void;
		} = {}
	) {
		this.#onFirst = hooks.onFirst ?? (() => {});
		this.#onLast = hooks.onLast ?? (() => {});
		this.#onError =
			hooks.onError ?? ((error) => console.error('[events] a listener threw:', error));
	}

	add(key: string, listener: (value: T) => void, signal: AbortSignal): Promise<void> {
		if (signal.aborted) return Promise.resolve();
		let set = this.#byKey.get(key);
		if (!set) {
			set = new Set();
			this.#byKey.set(key, set);
			this.#ready.set(key, Promise.resolve(this.#onFirst(key)));
		}
		set.add(listener);
		signal.addEventListener(
			'abort',
			() => {
				const current = this.#byKey.get(key);
				if (!current?.delete(listener) || current.size > 0) return;
				this.#byKey.delete(key);
				this.#ready.delete(key);
				this.#onLast(key);
			},
			{ once: true }
		);
		return this.#ready.get(key) ?? Promise.resolve();
	}

	emit(key: string, value: T): void {
		for (const listener of this.#byKey.get(key) ?? []) {
			try {
				listener(value);
			} catch (error) {
				this.#onError(error);
			}
		}
	}

	count(key?: string): number {
		if (key !== undefined) return this.#byKey.get(key)?.size ?? 0;
		let n = 0;
		for (const set of this.#byKey.values()) n += set.size;
		return n;
	}

	keys(): string[] {
		return [...this.#byKey.keys()];
	}
}
