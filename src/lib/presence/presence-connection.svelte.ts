import type { PresenceClient } from '../client';
import type { CurrentPage, StreamEvent } from '../contract';
import { StreamEmitter, type Listener, type StreamEventType } from './stream-emitter';
import { codeOf, isPermanent } from './error-code';
import { IdleReports } from './idle-reports';
import { PresenceReports } from './presence-reports';
import { PresenceStore } from './presence-store.svelte';
import { TypingReports } from './typing-reports';
import { TypingState } from './typing-state.svelte';

export interface PresenceConnectionOptions {
	/** Where presence goes; a new store when omitted. */
	store?: PresenceStore;
	/** First resubscribe delay after the server ended the stream; doubles up to `maxBackoffMs`. */
	backoffMs?: number;
	maxBackoffMs?: number;
	/** The stream was refused for good (UNAUTHORIZED / FORBIDDEN): e.g. drop a visitor token. */
	onUnauthorized?: (error: unknown) => void;
}

/**
 * The one presence stream of a tab (docs/design.md §3): opens `presence.connect`, feeds the store
 * and the listeners, heartbeats at the server's pace, and resubscribes (fresh snapshot) when the
 * server ends the stream (overflow, heartbeat expiry, node shutdown) or a heartbeat says the
 * connection is gone. Focus and the current page are kept as wishes and re-sent on every new
 * connection, so a reconnect restores what others see.
 */
export class PresenceConnection {
	readonly store: PresenceStore;
	readonly typing = new TypingState();
	#client: PresenceClient;
	#options: PresenceConnectionOptions;

	#connectionId = $state<string | null>(null);
	#connected = $state(false);
	/** Visitors: the team is there (an agent online and available); null until the server said. */
	#teamOnline = $state<boolean | null>(null);
	#error = $state<string | null>(null);

	#subscription: { unsubscribe(): void } | null = null;
	#heartbeat: ReturnType<typeof setInterval> | null = null;
	#retry: ReturnType<typeof setTimeout> | null = null;
	#backoff: number;
	#started = false;
	#destroyed = false;
	#listeners = new StreamEmitter();

	#reports: PresenceReports;
	#typingReports: TypingReports;
	#idle: IdleReports;

	constructor(client: PresenceClient, options: PresenceConnectionOptions = {}) {
		this.#client = client;
		this.#options = options;
		this.store = options.store ?? new PresenceStore();
		this.#backoff = options.backoffMs ?? 500;
		const live = () => this.#connectionId;
		this.#reports = new PresenceReports(live, {
			page: (connectionId, page) => client.presence.page.mutate({ connectionId, ...page }),
			focus: (connectionId, conversationId) =>
				client.presence.focus.mutate({ connectionId, conversationId }),
			failed: (error, connectionId) => this.#restartIfGone(error, connectionId)
		});
		this.#typingReports = new TypingReports(live, (connectionId, conversationId) =>
			client.presence.typing.mutate({ connectionId, conversationId })
		);
		this.#idle = new IdleReports(live, (connectionId, idle) =>
			client.presence.idle.mutate({ connectionId, idle })
		);
	}

	/** The live connection's id (for focus/page/preview calls); null while (re)connecting. */
	get connectionId() {
		return this.#connectionId;
	}

	/** True between `ready` and the stream's end or a network drop. */
	get connected() {
		return this.#connected;
	}

	/** Visitors: whether at least one agent is online and available; null while not known yet. */
	get teamOnline() {
		return this.#teamOnline;
	}

	/** The last error that ended the stream, for display; null while healthy. */
	get error() {
		return this.#error;
	}

	get client() {
		return this.#client;
	}

	/** Whether this tab currently counts as idle (no input for the server's idle time). */
	get idle() {
		return this.#idle.idle;
	}

	start() {
		if (this.#started || this.#destroyed) return;
		this.#started = true;
		this.#subscribe();
	}

	destroy() {
		this.#destroyed = true;
		this.#idle.destroy();
		this.#teardown();
		if (this.#retry) clearTimeout(this.#retry);
		this.#retry = null;
		this.#listeners.clear();
	}

	/** Listens to one kind of stream event; returns the unsubscribe function. */
	on<T extends StreamEventType>(type: T, listener: Listener<T>): () => void {
		return this.#listeners.on(type, listener);
	}

	/** The conversation this tab is chatting in (open and visible), or null (closed, hidden, elsewhere). */
	setFocus(conversationId: string | null) {
		this.#reports.setFocus(conversationId);
	}

	/** The page this tab shows (the visitor widget reports it on every navigation). */
	setPage(page: CurrentPage | null) {
		this.#reports.setPage(page);
	}

	/**
	 * Sends a preview of `page` on the live connection: the server's answer (stored, or when to
	 * try again), or null when there is no connection.
	 */
	async sendPreview(
		image: string,
		page?: CurrentPage
	): Promise<{ stored: boolean; retryAfterMs: number | null } | null> {
		const connectionId = this.#connectionId;
		if (!connectionId) return null;
		return this.#client.presence.preview.mutate({ connectionId, image, page });
	}

	/** The user typed in the conversation's composer (spaced by the server's TTL; it ends it). */
	reportTyping(conversationId: string) {
		this.#typingReports.report(conversationId);
	}

	/** Resolves once no typing report of this conversation is in flight (capped). */
	settleTyping(conversationId: string, capMs?: number): Promise<void> {
		return this.#typingReports.settle(conversationId, capMs);
	}

	/** The message went: the server ended the typing, so the next keystroke starts it again. */
	sentMessage(conversationId: string) {
		this.#typingReports.forget(conversationId);
	}

	#subscribe() {
		if (this.#destroyed) return;
		this.#subscription = this.#client.presence.connect.subscribe(undefined, {
			onData: (envelope) => this.#dispatch(envelope.data),
			onError: (error) => {
				this.#lost(errorMessage(error));
				if (isPermanent(error)) {
					this.#options.onUnauthorized?.(error);
					return;
				}
				this.#scheduleResubscribe();
			},
			onComplete: () => {
				// The server ended the stream (overflow, expiry, shutdown) or onError already ran.
				if (!this.#subscription) return;
				this.#lost(null);
				this.#scheduleResubscribe();
			},
			onConnectionStateChange: (state) => {
				// tRPC's SSE link reconnects by itself after a network error: no connection meanwhile.
				if (state.state === 'connecting' && state.error) this.#lost(errorMessage(state.error));
			}
		});
	}

	#dispatch(event: StreamEvent) {
		switch (event.type) {
			case 'ready':
			case 'resumed':
				this.#backoff = this.#options.backoffMs ?? 500;
				// Resumed: the missed events follow, so the store stays as it is.
				if (event.type === 'ready') this.store.applySnapshot(event.snapshot);
				this.#connectionId = event.connectionId;
				this.#connected = true;
				this.#error = null;
				this.#startHeartbeat(event.heartbeatIntervalMs);
				this.#reports.flush();
				if (event.type === 'ready') this.typing.clear();
				if (event.type === 'ready' && event.teamOnline !== undefined)
					this.#teamOnline = event.teamOnline;
				this.#typingReports.forget();
				this.#idle.connected(event.idleAfterMs);
				break;
			case 'presence':
				this.store.apply(event);
				break;
			case 'typing':
				this.typing.set(event.conversationId, event.userId, event.typing);
				break;
			case 'team':
				this.#teamOnline = event.online;
				break;
			case 'message':
				this.typing.set(event.conversationId, event.message.senderId, false);
				break;
		}
		this.#listeners.emit(event);
	}

	#startHeartbeat(intervalMs: number) {
		if (this.#heartbeat) clearInterval(this.#heartbeat);
		this.#heartbeat = setInterval(() => void this.#beat(), Math.max(100, intervalMs));
	}

	async #beat() {
		const connectionId = this.#connectionId;
		if (!connectionId) return;
		try {
			await this.#client.presence.heartbeat.mutate({ connectionId });
		} catch (error) {
			// Anything but NOT_FOUND (rate limit, network): the next beat or the link's reconnect will tell.
			this.#restartIfGone(error, connectionId);
		}
	}

	/** The server no longer knows this connection (expired, node gone): start a fresh stream. */
	#restartIfGone(error: unknown, connectionId: string) {
		if (codeOf(error) !== 'NOT_FOUND' || connectionId !== this.#connectionId) return;
		this.#teardown();
		this.#scheduleResubscribe(0);
	}

	#lost(error: string | null) {
		this.#connected = false;
		this.#connectionId = null;
		this.#error = error;
		if (this.#heartbeat) clearInterval(this.#heartbeat);
		this.#heartbeat = null;
	}

	#teardown() {
		const subscription = this.#subscription;
		this.#subscription = null;
		subscription?.unsubscribe();
		this.#lost(null);
	}

	#scheduleResubscribe(delay = this.#backoff) {
		if (this.#destroyed) return;
		const current = this.#subscription;
		this.#subscription = null;
		current?.unsubscribe();
		if (this.#retry) clearTimeout(this.#retry);
		this.#backoff = Math.min(this.#backoff * 2, this.#options.maxBackoffMs ?? 10_000);
		this.#retry = setTimeout(() => {
			this.#retry = null;
			this.#subscribe();
		}, delay);
	}
}

function errorMessage(error: unknown) {
	return error instanceof Error ? error.message : String(error);
}
