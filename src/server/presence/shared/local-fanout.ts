import { ListenerSet } from '../../../lib/listener-set';
import type { PresenceChange, PresenceListener } from '../types';

/** The one key of the node-wide expiry listeners. */
const EVERY_CONNECTION = '';

/**
 * Local listeners and expiry watchers, grouped by workspace, with one reference count per
 * workspace covering both: the Redis backend keeps the workspace's channel subscribed while the
 * count is above zero (a watcher needs the channel too: expiry notices travel on it). Four
 * `ListenerSet`s: the references (whose first and last are the hooks), the change listeners by
 * workspace, the watchers by connection, and the node-wide expiry listeners.
 */
export class LocalFanout {
	#refs: ListenerSet<never>;
	#listeners: ListenerSet<PresenceChange>;
	#watchers: ListenerSet<void>;
	#expiryListeners: ListenerSet<string>;

	constructor(hooks: {
		onFirst?: (workspaceId: string) => Promise<void>;
		onLast?: (workspaceId: string) => void;
		onError?: (error: unknown) => void;
	}) {
		const { onFirst, onLast } = hooks;
		const onError =
			hooks.onError ?? ((error) => console.error('[presence] a listener threw:', error));
		this.#refs = new ListenerSet<never>({
			// A failed subscription is the engine's to log and retry: listeners are not refused.
			onFirst: onFirst && ((workspaceId) => onFirst(workspaceId).catch(() => {})),
			onLast
		});
		this.#listeners = new ListenerSet({ onError });
		this.#watchers = new ListenerSet({ onError });
		this.#expiryListeners = new ListenerSet({ onError });
	}

	/** Resolves once the workspace's channel is subscribed. */
	listen(workspaceId: string, listener: PresenceListener, signal: AbortSignal): Promise<void> {
		if (signal.aborted) return Promise.resolve();
		// Wrap so the same function may be added twice and removed independently.
		void this.#listeners.add(workspaceId, (change) => listener(change), signal);
		return this.#refs.add(workspaceId, () => {}, signal);
	}

	/** `onExpired` is called at most once, by `expire(connectionId)`, unless `signal` aborts first. */
	watch(
		workspaceId: string,
		connectionId: string,
		onExpired: () => void,
		signal: AbortSignal
	): void {
		if (signal.aborted) return;
		const watch = new AbortController();
		const done = () => watch.abort();
		signal.addEventListener('abort', done, { once: true });
		watch.signal.addEventListener('abort', () => signal.removeEventListener('abort', done), {
			once: true
		});
		void this.#refs.add(workspaceId, () => {}, watch.signal);
		const fire = () => {
			done();
			onExpired();
		};
		void this.#watchers.add(connectionId, fire, watch.signal);
	}

	/**
	 * `onExpired(connectionId)` for every connection declared dead until `signal` aborts. Takes no
	 * reference on any workspace: the caller listens to the workspaces whose expiries it needs.
	 */
	watchAll(onExpired: (connectionId: string) => void, signal: AbortSignal): void {
		const wrapped = (connectionId: string) => onExpired(connectionId);
		void this.#expiryListeners.add(EVERY_CONNECTION, wrapped, signal);
	}

	emit(change: PresenceChange): void {
		this.#listeners.emit(change.workspaceId, change);
	}

	expire(connectionId: string): void {
		this.#watchers.emit(connectionId, undefined);
		this.#expiryListeners.emit(EVERY_CONNECTION, connectionId);
	}

	hasListeners(workspaceId: string): boolean {
		return this.#listeners.count(workspaceId) > 0;
	}

	/** Workspaces whose channel must stay subscribed. */
	workspaces(): string[] {
		return this.#refs.keys();
	}

	listenedWorkspaces(): string[] {
		return this.#listeners.keys();
	}
}
