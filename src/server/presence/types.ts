/**
 * The presence engine's public shape (docs/design.md §2 and §3).
 *
 * Two backends implement `PresenceEngine`: the Redis one (any number of nodes) and the
 * single-process one (the embedded default). Both pass the same contract suite.
 * Routers and streams depend only on this file.
 */

/** The page a visitor is on, reported by the widget. */
export interface CurrentPage {
	url: string;
	title: string;
}

/** An agent's own say on whether they take conversations (stored in Postgres by the app). */
export type Availability = 'available' | 'busy' | 'away';

/** Who a connection belongs to. Every key is hash-tagged by `workspaceId`. */
export interface PersonRef {
	workspaceId: string;
	userId: string;
}

/**
 * What the engine knows of one person, independent of who is looking.
 * Routers turn it into a viewer-relative `PresenceUpdate` (status online/active/offline).
 */
export interface PresenceState {
	userId: string;
	isOnline: boolean;
	/** The conversation the person is focused on (chat open and visible), or null. */
	focusConversationId: string | null;
	/** Only while online; null otherwise. */
	currentPage: CurrentPage | null;
	/** When the person was last seen going offline (or came online), epoch ms; null if never. */
	lastSeenAt: number | null;
	/** Only grows, across nodes and across a Redis restart. 0 = never seen. */
	version: number;
	/**
	 * True while `focusConversationId` is only inherited from a tab that closed within the grace
	 * (a reload) and the new tab has not said yet what it shows. Viewers see it (no flicker); smart
	 * delivery does not count it as reading. Absent = false.
	 */
	focusInherited?: boolean;
	/**
	 * While online and every live connection reports no input: when the last of them went idle
	 * (epoch ms). Absent or null = not idle.
	 */
	idleSince?: number | null;
	/**
	 * An agent's availability, as last set through `setAvailability`. The engine only carries a
	 * copy (Postgres holds it): absent when it was never set here or Redis lost it, and then the
	 * app reads it from Postgres.
	 */
	availability?: Availability;
	/**
	 * Pages reported since this visit began (each navigation or reload counts), while online.
	 * Only reads carry it (`read`, `online`); changes on the bus do not (it is no viewer-visible
	 * change by itself). Absent = unknown or 0.
	 */
	pagesSeen?: number;
}

/** A viewer-visible change, as published on the workspace's bus channel. */
export interface PresenceChange extends PresenceState {
	workspaceId: string;
}

/** Timings, all in milliseconds. */
export interface PresenceTimings {
	/** Offline waits this long after the last connection closes; 0 = at once. */
	graceMs: number;
	/** A connection with no heartbeat for this long is dead. */
	heartbeatTimeoutMs: number;
	/** A node whose lease is older than this is dead; its connections expire at once. */
	leaseTtlMs: number;
	/** How often each node sweeps. */
	sweepIntervalMs: number;
	/**
	 * A focus inherited by a reload is dropped if the new tab has not confirmed it by then (its
	 * first focus report, null included, replaces it at once); default `INHERITED_FOCUS_MS`.
	 */
	inheritedFocusMs?: number;
}

/** How long a reloaded tab has to confirm the focus it inherited (one sweep adds to it). */
export const INHERITED_FOCUS_MS = 1000;

/** Where `last_seen_at` is persisted (Postgres in the app). Failures are logged and retried by the engine. */
export interface LastSeenStore {
	write(entries: { workspaceId: string; userId: string; at: Date }[]): Promise<void>;
}

/** A person's heartbeats allowed per window, shared by every node. */
export interface HeartbeatLimit {
	limit: number;
	windowMs: number;
}

export type PresenceListener = (change: PresenceChange) => void;

/**
 * A person started or stopped typing in a conversation. Only starts and ends travel (never one
 * per keystroke); an end always follows a start, whoever ends it (send, disconnect, deadline).
 */
export interface TypingChange {
	workspaceId: string;
	conversationId: string;
	userId: string;
	typing: boolean;
}

export type TypingListener = (change: TypingChange) => void;

/** What `connect` answers. */
export interface Connected {
	connectionId: string;
	change: PresenceChange | null;
	/** The presence of the people asked for in `read`, when the engine answered it. */
	states?: Map<string, PresenceState>;
}

export interface PresenceEngine {
	/** This node's id (lease key, connection ownership). */
	readonly nodeId: string;

	/**
	 * Registers a new connection; emits online if the person was offline. With `read`, also
	 * answers those people's presence as `read` would, right after the registration, in the same
	 * round trip (a stream's snapshot of the people it will likely see). `states` is absent when
	 * the engine could not answer (Redis away): the caller reads instead.
	 */
	connect(person: PersonRef, read?: readonly string[]): Promise<Connected>;
	/**
	 * Extends the connection's deadline; works on any node. Returns false when the connection is
	 * unknown or dead, or (with `userId`) someone else's: the ownership check costs no extra trip.
	 * With `userId` and `limit`, the person's heartbeats are counted in the same trip and
	 * `'limited'` comes back past the limit (nothing extended). When Redis is away the limit is
	 * not applied, as with every rate limit: a limiter must not take presence down with it.
	 */
	heartbeat(
		connectionId: string,
		userId?: string,
		limit?: HeartbeatLimit
	): Promise<boolean | 'limited'>;
	/** Closes a connection; the person goes offline after the grace if it was their last. */
	disconnect(connectionId: string): Promise<PresenceChange | null>;
	/** Focus a conversation (null = blur). */
	focus(connectionId: string, conversationId: string | null): Promise<PresenceChange | null>;
	/** The tab had no input for the client's idle time (true), or has input again (false). */
	idle(connectionId: string, idle: boolean): Promise<PresenceChange | null>;
	/**
	 * The person's availability changed (the app stored it first): kept with their presence and
	 * published as a change with a newer version, so viewers apply it like any other; null when
	 * it already was that value or Redis could not be reached (logged; Postgres stays the truth).
	 */
	setAvailability(
		workspaceId: string,
		userId: string,
		availability: Availability
	): Promise<PresenceChange | null>;
	/** Report the current page. */
	page(connectionId: string, page: CurrentPage): Promise<PresenceChange | null>;

	/**
	 * The connection's person is typing in `conversationId` until `ttlMs` from now (a repeat
	 * extends it). Returns the start, or null when it only extended or the connection is unknown.
	 * The deadline is the engine's, not the client's: its sweep ends typing that was not renewed,
	 * and a connection that goes (closed, expired, its node reaped) ends its typing with it.
	 */
	typing(connectionId: string, conversationId: string, ttlMs: number): Promise<TypingChange | null>;
	/** Ends the person's typing in the conversation (they sent a message); null if they were not typing. */
	stopTyping(
		workspaceId: string,
		userId: string,
		conversationId: string
	): Promise<TypingChange | null>;
	/** Like `listen`, for the workspace's typing starts and ends; resolves once subscribed. */
	listenTyping(workspaceId: string, listener: TypingListener, signal: AbortSignal): Promise<void>;

	/** Who holds this connection, or null when it is unknown or dead (authorization of heartbeat/focus/page). */
	owner(connectionId: string): Promise<PersonRef | null>;

	/** State of up to 1,000 people of one workspace in ONE Redis round trip. Failure -> everyone offline. */
	read(workspaceId: string, userIds: readonly string[]): Promise<Map<string, PresenceState>>;
	isOnline(workspaceId: string, userId: string): Promise<boolean>;
	/**
	 * Everyone of the workspace with a live connection now or within the grace (agents too: the
	 * caller filters by kind), at most `limit` of them, in ONE Redis round trip. While online,
	 * `lastSeenAt` is when this visit began (a reload within the grace keeps it). Failure -> [].
	 */
	online(workspaceId: string, limit: number): Promise<PresenceState[]>;

	/**
	 * Local fan-out of the workspace's changes until `signal` aborts. Per person, versions arrive
	 * increasing. Resolves once the node is subscribed: a stream awaits it before reading its
	 * snapshot, so no change falls between the two.
	 */
	listen(workspaceId: string, listener: PresenceListener, signal: AbortSignal): Promise<void>;

	/**
	 * Calls `onExpired` once if the engine declares this connection dead (heartbeat timeout,
	 * or its node's lease lapsed) so the stream holding it can close. Stops at `signal`.
	 */
	watchExpiry(connectionId: string, onExpired: () => void, signal: AbortSignal): void;

	/**
	 * Node-wide: `onExpired(connectionId)` for every connection the engine declares dead, of the
	 * workspaces this node `listen`s to, until `signal` aborts (the stream hub: one watcher for all
	 * its streams instead of one per stream).
	 */
	watchExpiries(onExpired: (connectionId: string) => void, signal: AbortSignal): void;

	/** Figures for /metrics (see PresenceStats). Never throws: a Redis failure shows in the errors. */
	stats(): Promise<PresenceStats>;

	/** Starts the sweeper and the lease. */
	start(): Promise<void>;
	/** Graceful stop: disconnects this node's connections (with grace), stops timers, releases the lease. */
	stop(): Promise<void>;
}

/** The engine's figures for /metrics; counters (`_total`) count since the engine was built. */
export interface PresenceStats {
	/** Connections whose stream is open on this node. */
	local_connections: number;
	/** Distinct people behind them. */
	local_people: number;
	/** How overdue the oldest deadline is; about 0 while sweeps keep up. */
	sweep_lag_ms: number;
	/** Failed backend calls since start (Redis, and last_seen_at writes), logged or held back. */
	errors_total: number;
	/**
	 * The failed Redis calls among them, by operation (lease, sweep, read, …). Failed
	 * last_seen_at writes are left out: they are Postgres errors, counted where queries fail.
	 */
	redis_errors: Record<string, number>;
	/** Changes this node published (one per viewer-visible transition it made). */
	changes_published_total: number;
	/** Changes this node received for its local listeners (its own and other nodes'). */
	changes_received_total: number;
	/** Since the node last renewed its lease (0 without a lease: the single-process backend). */
	lease_refresh_age_ms: number;
	/** Times the node found its lease gone and re-registered under a new incarnation. */
	reincarnations_total: number;
}
