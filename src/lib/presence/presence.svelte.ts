import { TRPCClientError } from '@trpc/client';
import { SvelteMap } from 'svelte/reactivity';
import type { PresenceClient } from '../client';
import type {
	Availability,
	CurrentPage,
	PresenceFields,
	PresenceStatus,
	PresenceUpdate,
	StreamEvent
} from '../events';
import { StreamEmitter, type Listener, type StreamEventType } from './emitter';
import { applyIfNewer, replaceWithSnapshot } from './store-rules';

/** What the UI shows for a person: the wire status, or `unknown` while nothing is known (neutral). */
export type DisplayStatus = PresenceStatus | 'unknown';

/** Presence fields as the UI reads them, from the stream or from loaded query data. */
export type PresenceView = Pick<
	PresenceFields,
	'isOnline' | 'status' | 'lastSeenAt' | 'currentPage'
> & {
	version: number;
	idleSince?: string | null;
	availability?: Availability | null;
};

/**
 * Presence by person, as the signed-in viewer sees it (docs/design.md §3, "client presence
 * store"). A `ready` snapshot replaces everything; a delta applies only when its `version` is
 * newer than the one held, so out-of-order delivery never shows a stale state.
 */
export class PresenceStore {
	#people = new SvelteMap<string, PresenceUpdate>();
	#synced = $state(false);

	/** True once a snapshot arrived: absent people are then really not visible to the viewer. */
	get synced() {
		return this.#synced;
	}

	get size() {
		return this.#people.size;
	}

	/** Replaces everything with a fresh snapshot (first event of every stream, also after a reconnect). */
	applySnapshot(snapshot: readonly PresenceUpdate[]) {
		replaceWithSnapshot(this.#people, snapshot);
		this.#synced = true;
	}

	/** Applies a delta; returns false (and changes nothing) when it is not newer than what is held. */
	apply(update: PresenceUpdate): boolean {
		return applyIfNewer(this.#people, update);
	}

	get(userId: string): PresenceUpdate | undefined {
		return this.#people.get(userId);
	}

	status(userId: string): DisplayStatus {
		return this.#people.get(userId)?.status ?? 'unknown';
	}

	/**
	 * The newer of what the stream holds and what a page loaded (both carry the person's version):
	 * the loaded data shows at once (also in SSR), the stream takes over as soon as it knows more.
	 */
	view(userId: string, loaded?: PresenceView | null): PresenceView | null {
		const held = this.#people.get(userId);
		if (held && (!loaded || held.version >= loaded.version)) return held;
		return loaded ?? null;
	}

	clear() {
		this.#people.clear();
		this.#synced = false;
	}
}

/** The status to render for a view (null = not known: neutral). */
export function statusOf(view: PresenceView | null | undefined): DisplayStatus {
	return view?.status ?? 'unknown';
}

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
/**
 * Who is typing where, as the stream says. The server sends starts and ends and ends typing by
 * itself, so no client timer is needed; a fresh snapshot (`ready`) starts empty (a stream that
 * dropped may have missed an end) and a message from the typist ends it at once.
 */
export class TypingState {
	#who = new SvelteMap<string, string[]>();

	/** The people typing in a conversation (never the viewer: the server does not send those). */
	in(conversationId: string): string[] {
		return this.#who.get(conversationId) ?? [];
	}

	set(conversationId: string, userId: string, typing: boolean) {
		const now = this.in(conversationId);
		const has = now.includes(userId);
		if (typing && !has) this.#who.set(conversationId, [...now, userId]);
		else if (!typing && has) {
			const rest = now.filter((id) => id !== userId);
			if (rest.length) this.#who.set(conversationId, rest);
			else this.#who.delete(conversationId);
		}
	}

	clear() {
		this.#who.clear();
	}
}

/** Input that counts against idle (the issue: keyboard, pointer or touch). */
const INPUT_EVENTS = ['keydown', 'pointerdown', 'pointermove', 'touchstart', 'wheel'] as const;

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

	/** What this tab wants others to see, re-sent on each new connection. */
	#focus: string | null = null;
	#page: CurrentPage | null = null;
	/**
	 * What the live connection was told. `focus` is undefined until told anything: a new connection
	 * may have inherited the focus of the tab this one replaced (a reload), so "no focus" must be
	 * said too, with the first report.
	 */
	#sent: { connectionId: string | null; focus: string | null | undefined; page: string | null } = {
		connectionId: null,
		focus: undefined,
		page: null
	};
	#flushQueued = false;
	#flushing = false;
	#flushAgain = false;

	/** When this tab last told the server it types, per conversation (calls spaced by TTL/3). */
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only, never rendered
	#typingSent = new Map<string, number>();
	#typingEveryMs = 2000;
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping only, never rendered
	#typingInFlight = new Map<string, Promise<void>>();
	#idleAfterMs: number | null = null;
	#idleTimer: ReturnType<typeof setTimeout> | null = null;
	#idle = false;
	/** The connection last told it is idle (a new connection starts active on the server). */
	#idleSentTo: string | null = null;
	#detachInput: (() => void) | null = null;

	constructor(client: PresenceClient, options: PresenceConnectionOptions = {}) {
		this.#client = client;
		this.#options = options;
		this.store = options.store ?? new PresenceStore();
		this.#backoff = options.backoffMs ?? 500;
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

	start() {
		if (this.#started || this.#destroyed) return;
		this.#started = true;
		this.#subscribe();
	}

	destroy() {
		this.#destroyed = true;
		this.#detachInput?.();
		this.#detachInput = null;
		if (this.#idleTimer) clearTimeout(this.#idleTimer);
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
		this.#focus = conversationId;
		this.#queueFlush();
	}

	/** The page this tab shows (the visitor widget reports it on every navigation). */
	setPage(page: CurrentPage | null) {
		this.#page = page;
		this.#queueFlush();
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

	/**
	 * The user typed in the conversation's composer. At most one call per TTL/3: the server keeps
	 * the indicator up for its TTL after each, and ends it by itself when the calls stop.
	 */
	reportTyping(conversationId: string) {
		const connectionId = this.#connectionId;
		if (!connectionId) return;
		const now = Date.now();
		if (now - (this.#typingSent.get(conversationId) ?? 0) < this.#typingEveryMs) return;
		this.#typingSent.set(conversationId, now);
		const call = this.#client.presence.typing.mutate({ connectionId, conversationId }).then(
			(reply) => {
				this.#typingEveryMs = Math.max(500, Math.floor(reply.ttlMs / 3));
			},
			() => {
				this.#typingSent.delete(conversationId);
			}
		);
		this.#typingInFlight.set(conversationId, call);
		void call.finally(() => {
			if (this.#typingInFlight.get(conversationId) === call)
				this.#typingInFlight.delete(conversationId);
		});
	}

	/**
	 * Resolves once no typing report of this conversation is in flight. Sending waits for it: a
	 * report landing after the message (which ends typing on the server) would start "typing…"
	 * again for a whole TTL. Capped, so a stuck call never holds a message back for long.
	 */
	async settleTyping(conversationId: string, capMs = 1000): Promise<void> {
		const call = this.#typingInFlight.get(conversationId);
		if (!call) return;
		let timer: ReturnType<typeof setTimeout> | undefined;
		await Promise.race([call, new Promise((resolve) => (timer = setTimeout(resolve, capMs)))]);
		clearTimeout(timer);
	}

	/** The message went: the server ended the typing, so the next keystroke starts it again. */
	sentMessage(conversationId: string) {
		this.#typingSent.delete(conversationId);
	}

	/** Whether this tab currently counts as idle (no input for the server's idle time). */
	get idle() {
		return this.#idle;
	}

	#watchInput(idleAfterMs: number) {
		this.#idleAfterMs = idleAfterMs;
		if (this.#detachInput || typeof window === 'undefined') {
			this.#armIdle();
			return;
		}
		const onInput = () => {
			if (this.#idle) {
				this.#idle = false;
				this.#sendIdle();
			}
			this.#armIdle();
		};
		for (const type of INPUT_EVENTS) {
			window.addEventListener(type, onInput, { passive: true, capture: true });
		}
		this.#detachInput = () => {
			for (const type of INPUT_EVENTS) window.removeEventListener(type, onInput, { capture: true });
		};
		this.#armIdle();
	}

	#armIdle() {
		if (this.#idleTimer) clearTimeout(this.#idleTimer);
		if (this.#idleAfterMs === null) return;
		this.#idleTimer = setTimeout(() => {
			this.#idle = true;
			this.#sendIdle();
		}, this.#idleAfterMs);
	}

	/** Tells the live connection this tab's idle state, only when it differs from what it was told. */
	#sendIdle() {
		const connectionId = this.#connectionId;
		if (!connectionId) return;
		const told = this.#idleSentTo === connectionId;
		if (told === this.#idle) return;
		this.#idleSentTo = this.#idle ? connectionId : null;
		this.#client.presence.idle.mutate({ connectionId, idle: this.#idle }).catch(() => {
			this.#idleSentTo = told ? connectionId : null;
		});
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
				this.#queueFlush();
				if (event.type === 'ready') this.typing.clear();
				if (event.type === 'ready' && event.teamOnline !== undefined)
					this.#teamOnline = event.teamOnline;
				this.#typingSent.clear();
				// A new connection starts active: an idle tab says so again, at once.
				this.#idleSentTo = null;
				if (event.idleAfterMs) this.#watchInput(event.idleAfterMs);
				if (this.#idle) this.#sendIdle();
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
			// The server no longer knows this connection (expired, node gone): start a fresh stream.
			if (codeOf(error) === 'NOT_FOUND' && connectionId === this.#connectionId) this.#restart();
			// Anything else (rate limit, network): the next beat or the link's reconnect will tell.
		}
	}

	#restart() {
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

	#queueFlush() {
		if (this.#flushQueued) return;
		this.#flushQueued = true;
		// A microtask: a blur then focus within one update (switching conversations) sends one call.
		queueMicrotask(() => {
			this.#flushQueued = false;
			void this.#flush();
		});
	}

	/**
	 * One report call of each kind in flight at a time: reports of one tab may reach different
	 * nodes, and a slow earlier one applied after a later one would leave the older focus shown
	 * (green while the chat is closed). A wish made meanwhile is sent when the call returns.
	 */
	async #flush() {
		if (this.#flushing) {
			this.#flushAgain = true;
			return;
		}
		this.#flushing = true;
		try {
			do {
				this.#flushAgain = false;
				await this.#flushOnce();
			} while (this.#flushAgain);
		} finally {
			this.#flushing = false;
		}
	}

	async #flushOnce() {
		const connectionId = this.#connectionId;
		if (!connectionId || this.#destroyed) return;
		if (this.#sent.connectionId !== connectionId) {
			this.#sent = { connectionId, focus: undefined, page: null };
		}
		const sent = this.#sent;
		const calls: Promise<unknown>[] = [];
		const pageKey = this.#page ? `${this.#page.url}\n${this.#page.title}` : null;
		if (this.#page && pageKey !== sent.page) {
			sent.page = pageKey;
			calls.push(
				this.#client.presence.page.mutate({ connectionId, ...this.#page }).catch((error) => {
					if (sent === this.#sent && sent.page === pageKey) sent.page = null;
					this.#onCallError(error, connectionId);
				})
			);
		}
		const focus = this.#focus;
		if (focus !== sent.focus) {
			sent.focus = focus;
			calls.push(
				this.#client.presence.focus
					.mutate({ connectionId, conversationId: focus })
					.catch((error) => {
						if (sent === this.#sent && sent.focus === focus) sent.focus = undefined;
						this.#onCallError(error, connectionId);
					})
			);
		}
		await Promise.all(calls);
	}

	#onCallError(error: unknown, connectionId: string) {
		if (codeOf(error) === 'NOT_FOUND' && connectionId === this.#connectionId) this.#restart();
	}
}

export function codeOf(error: unknown): string | undefined {
	if (error instanceof TRPCClientError) {
		const data = error.data as { code?: string } | undefined;
		return data?.code;
	}
	return undefined;
}

function isPermanent(error: unknown) {
	const code = codeOf(error);
	return code === 'UNAUTHORIZED' || code === 'FORBIDDEN';
}

function errorMessage(error: unknown) {
	return error instanceof Error ? error.message : String(error);
}
