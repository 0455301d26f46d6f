import type { PresenceChange, PresenceListener } from '../types';

/**
 * Local listeners and expiry watchers, grouped by workspace, with one reference count per
 * workspace covering both: the Redis backend keeps the workspace's channel subscribed while the
 * count is above zero (a watcher needs the channel too: expiry notices travel on it).
 */
export class LocalFanout {
	#listeners = new Map<string, Set<PresenceListener>>();
	#watchers = new Map<string, Set<() => void>>();
	/** Node-wide expiry listeners (the stream hub): told of every expired connection. */
	#expiryListeners = new Set<(connectionId: string) => void>();
	#refs = new Map<string, number>();
	#onFirst: (workspaceId: string) => Promise<void>;
	#onLast: (workspaceId: string) => void;
	#ready = new Map<string, Promise<void>>();
	#onError: (error: unknown) => void;

	constructor(hooks: {
		onFirst?: (workspaceId: string) => Promise<void>;
		onLast?: (workspaceId: string) => void;
		onError?: (error: unknown) => void;
	}) {
		this.#onFirst = hooks.onFirst ?? (() => Promise.resolve());
		this.#onLast = hooks.onLast ?? (() => {});
		this.#onError =
			hooks.onError ?? ((error) => console.error('[presence] a listener threw:', error));
	}

	/** Takes a reference on the workspace; returns its release (idempotent) and the subscription promise. */
	#retain(workspaceId: string): { release: () => void; ready: Promise<void> } {
		const count = this.#refs.get(workspaceId) ?? 0;
		this.#refs.set(workspaceId, count + 1);
		if (count === 0) {
			this.#ready.set(
				workspaceId,
				this.#onFirst(workspaceId).catch(() => {})
			);
		}
		let released = false;
		return {
			ready: this.#ready.get(workspaceId) ?? Promise.resolve(),
			release: () => {
				if (released) return;
				released = true;
				const left = (this.#refs.get(workspaceId) ?? 1) - 1;
				if (left > 0) {
					this.#refs.set(workspaceId, left);
					return;
				}
				this.#refs.delete(workspaceId);
				this.#ready.delete(workspaceId);
				this.#onLast(workspaceId);
			}
		};
	}

	listen(workspaceId: string, listener: PresenceListener, signal: AbortSignal): Promise<void> {
		if (signal.aborted) return Promise.resolve();
		// Wrap so the same function may be added twice and removed independently.
		const wrapped: PresenceListener = (change) => listener(change);
		let set = this.#listeners.get(workspaceId);
		if (!set) this.#listeners.set(workspaceId, (set = new Set()));
		set.add(wrapped);
		const { release, ready } = this.#retain(workspaceId);
		signal.addEventListener(
			'abort',
			() => {
				const current = this.#listeners.get(workspaceId);
				current?.delete(wrapped);
				if (current?.size === 0) this.#listeners.delete(workspaceId);
				release();
			},
			{ once: true }
		);
		return ready;
	}

	/** `onExpired` is called at most once, by `expire(connectionId)`, unless `signal` aborts first. */
	watch(
		workspaceId: string,
		connectionId: string,
		onExpired: () => void,
		signal: AbortSignal
	): void {
		if (signal.aborted) return;
		const { release } = this.#retain(workspaceId);
		let set = this.#watchers.get(connectionId);
		if (!set) this.#watchers.set(connectionId, (set = new Set()));
		const done = () => {
			const current = this.#watchers.get(connectionId);
			current?.delete(fire);
			if (current?.size === 0) this.#watchers.delete(connectionId);
			signal.removeEventListener('abort', done);
			release();
		};
		const fire = () => {
			done();
			try {
				onExpired();
			} catch (error) {
				this.#onError(error);
			}
		};
		set.add(fire);
		signal.addEventListener('abort', done, { once: true });
	}

	/**
	 * `onExpired(connectionId)` for every connection declared dead until `signal` aborts. Takes no
	 * reference on any workspace: the caller listens to the workspaces whose expiries it needs.
	 */
	watchAll(onExpired: (connectionId: string) => void, signal: AbortSignal): void {
		if (signal.aborted) return;
		const wrapped = (connectionId: string) => onExpired(connectionId);
		this.#expiryListeners.add(wrapped);
		signal.addEventListener('abort', () => this.#expiryListeners.delete(wrapped), { once: true });
	}

	emit(change: PresenceChange): void {
		const set = this.#listeners.get(change.workspaceId);
		if (!set) return;
		for (const listener of [...set]) {
			try {
				listener(change);
			} catch (error) {
				this.#onError(error);
			}
		}
	}

	expire(connectionId: string): void {
		for (const fire of [...(this.#watchers.get(connectionId) ?? [])]) fire();
		for (const listener of this.#expiryListeners) {
			try {
				listener(connectionId);
			} catch (error) {
				this.#onError(error);
			}
		}
	}

	hasListeners(workspaceId: string): boolean {
		return (this.#listeners.get(workspaceId)?.size ?? 0) > 0;
	}

	/** Workspaces whose channel must stay subscribed. */
	workspaces(): string[] {
		return [...this.#refs.keys()];
	}

	listenedWorkspaces(): string[] {
		return [...this.#listeners.keys()];
	}
}
