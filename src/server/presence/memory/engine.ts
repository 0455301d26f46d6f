import { offlineState } from '../shared/state';
import { randomBytes } from 'node:crypto';
import { newConnectionId, workspaceOfConnection } from '../shared/ids';
import { LastSeenWriter } from '../shared/last-seen-writer';
import { ListenerSet } from '../../events/listeners';
import { LocalFanout } from '../shared/listeners';
import { ThrottledLog, type PresenceLogger } from '../shared/logger';
import { RepeatingTask } from '../shared/timer';
import type {
	Availability,
	CurrentPage,
	HeartbeatLimit,
	LastSeenStore,
	PersonRef,
	PresenceChange,
	PresenceEngine,
	PresenceListener,
	PresenceState,
	PresenceStats,
	PresenceTimings,
	TypingChange,
	TypingListener
} from '../types';
import { INHERITED_FOCUS_MS } from '../types';

export interface MemoryPresenceOptions {
	timings: PresenceTimings;
	lastSeen: LastSeenStore;
	logger?: PresenceLogger;
}

interface Connection {
	workspaceId: string;
	userId: string;
	/** Heartbeat deadline, epoch ms. */
	deadline: number;
	focus: string | null;
	focusAt: number;
	/** Set while `focus` is inherited from a reload: when it lapses unless the tab confirms it. */
	focusLentUntil: number | null;
	page: CurrentPage | null;
	pageAt: number;
	/** Set while the tab reports no input: since when (epoch ms). */
	idleSince: number | null;
}

interface Typing {
	workspaceId: string;
	conversationId: string;
	userId: string;
	/** The tab that typed last: its going ends the typing. */
	connectionId: string;
	deadline: number;
}

interface Person {
	workspaceId: string;
	userId: string;
	connections: Set<string>;
	/** End of the grace (epoch ms) while the person has no connection but still shows online. */
	graceUntil: number | null;
	online: boolean;
	version: number;
	lastSeenAt: number | null;
	focus: string | null;
	/** The person-level focus comes from a connection that only inherited it. */
	focusInherited: boolean;
	/** Only while every connection is idle: the latest of their idle times. */
	idleSince: number | null;
	/** Kept while offline too: it is the person's setting, not their tab's. */
	availability: Availability | null;
	page: CurrentPage | null;
	/** Page reports since the visit began (see `PresenceState.pagesSeen`). */
	pagesSeen: number;
	/** Last report time, keeps report times strictly increasing per person. */
	reportedAt: number;
}

/** Offline people are forgotten after this long without a change (the Redis summary TTL). */
const FORGET_AFTER_MS = 30 * 24 * 3600 * 1000;

/**
 * The single-process backend (the embedded default when there is no Redis). Same rules as the
 * Redis scripts, in memory: one connection registry, per-person summary, a sweeper on a timer.
 * Changes are delivered to listeners synchronously, in transition order.
 */
export class MemoryPresenceEngine implements PresenceEngine {
	readonly nodeId = `memory-${randomBytes(4).toString('hex')}`;

	#timings: PresenceTimings;
	#log: ThrottledLog;
	#lastSeen: LastSeenWriter;
	#fanout: LocalFanout;
	#connections = new Map<string, Connection>();
	#heartbeats = new Map<string, { window: number; n: number }>();
	#people = new Map<string, Person>();
	#sweepTask: RepeatingTask;
	/** People in their grace (a set, so a sweep does not walk everyone). */
	#graced = new Set<Person>();
	/** Who types where, keyed like the Redis `ty` members: `<ws>\0<conversation>|<user>`. */
	#typing = new Map<string, Typing>();
	#typingListeners = new ListenerSet<TypingChange>({
		onError: (error) => this.#log.warn('typing', 'a typing listener threw', error)
	});
	#lastMicros = 0;
	#lastForget = Date.now();
	#stopped = false;
	#changes = 0;

	constructor(options: MemoryPresenceOptions) {
		this.#timings = options.timings;
		const logger = options.logger ?? console;
		this.#log = new ThrottledLog(logger);
		this.#lastSeen = new LastSeenWriter(options.lastSeen, this.#log);
		this.#fanout = new LocalFanout({
			onError: (error) => logger.error('[presence] a listener threw:', error)
		});
		this.#sweepTask = new RepeatingTask(
			this.#timings.sweepIntervalMs,
			async () => {
				this.#sweep();
				await this.#lastSeen.flush();
			},
			(error) => this.#log.warn('sweep', 'sweep failed', error)
		);
	}

	async connect(
		person: PersonRef
	): Promise<{ connectionId: string; change: PresenceChange | null }> {
		const connectionId = newConnectionId(person.workspaceId);
		const p = this.#person(person.workspaceId, person.userId);
		const connection: Connection = {
			workspaceId: person.workspaceId,
			userId: person.userId,
			deadline: Date.now() + this.#timings.heartbeatTimeoutMs,
			focus: null,
			focusAt: 0,
			focusLentUntil: null,
			page: null,
			pageAt: 0,
			idleSince: null
		};
		const graced = p.graceUntil !== null && p.connections.size === 0;
		if (graced) {
			// A reload within the grace: the new tab inherits what the person showed, so nothing
			// changes. The focus only until the tab says what it shows (or fails to, in time).
			connection.focus = p.focus;
			connection.focusAt = p.focus ? p.reportedAt : 0;
			if (p.focus) {
				connection.focusLentUntil =
					Date.now() + (this.#timings.inheritedFocusMs ?? INHERITED_FOCUS_MS);
			}
			connection.page = p.page;
			connection.pageAt = p.page ? p.reportedAt : 0;
		}
		this.#connections.set(connectionId, connection);
		const wasEmpty = p.connections.size === 0;
		p.connections.add(connectionId);
		p.graceUntil = null;
		this.#graced.delete(p);
		if (wasEmpty && !graced && !p.online) {
			p.online = true;
			p.pagesSeen = 0;
			p.lastSeenAt = Date.now();
			this.#lastSeen.add(p.workspaceId, p.userId, p.lastSeenAt);
			this.#derive(p);
			return { connectionId, change: this.#emit(p) };
		}
		return { connectionId, change: this.#refresh(p) };
	}

	async heartbeat(
		connectionId: string,
		userId?: string,
		limit?: HeartbeatLimit
	): Promise<boolean | 'limited'> {
		if (userId !== undefined && limit && !this.#takeHeartbeat(userId, limit)) return 'limited';
		const connection = this.#connections.get(connectionId);
		if (!connection) return false;
		if (userId !== undefined && connection.userId !== userId) return false;
		connection.deadline = Math.max(
			connection.deadline,
			Date.now() + this.#timings.heartbeatTimeoutMs
		);
		return true;
	}

	/** Fixed windows per person, like the Redis backend's `rh:` counters. */
	#takeHeartbeat(userId: string, { limit, windowMs }: HeartbeatLimit): boolean {
		const window = Math.floor(Date.now() / windowMs);
		const entry = this.#heartbeats.get(userId);
		if (!entry || entry.window !== window) {
			if (this.#heartbeats.size > 100_000) this.#heartbeats.clear();
			this.#heartbeats.set(userId, { window, n: 1 });
			return limit >= 1;
		}
		return ++entry.n <= limit;
	}

	async disconnect(connectionId: string): Promise<PresenceChange | null> {
		const connection = this.#remove(connectionId);
		if (!connection) return null;
		return this.#afterRemoval(
			this.#person(connection.workspaceId, connection.userId),
			this.#timings.graceMs
		);
	}

	async focus(connectionId: string, conversationId: string | null): Promise<PresenceChange | null> {
		const connection = this.#connections.get(connectionId);
		if (!connection) return null;
		const p = this.#person(connection.workspaceId, connection.userId);
		connection.focus = conversationId || null;
		connection.focusAt = this.#reportTime(p);
		connection.focusLentUntil = null;
		return this.#refresh(p);
	}

	async idle(connectionId: string, idle: boolean): Promise<PresenceChange | null> {
		const connection = this.#connections.get(connectionId);
		if (!connection) return null;
		if (idle === (connection.idleSince !== null)) return null;
		connection.idleSince = idle ? Date.now() : null;
		return this.#refresh(this.#person(connection.workspaceId, connection.userId));
	}

	async setAvailability(
		workspaceId: string,
		userId: string,
		availability: Availability
	): Promise<PresenceChange | null> {
		const p = this.#person(workspaceId, userId);
		if (p.availability === availability) return null;
		p.availability = availability;
		return this.#emit(p);
	}

	async page(connectionId: string, page: CurrentPage): Promise<PresenceChange | null> {
		const connection = this.#connections.get(connectionId);
		if (!connection) return null;
		const p = this.#person(connection.workspaceId, connection.userId);
		connection.page = { url: page.url, title: page.title };
		connection.pageAt = this.#reportTime(p);
		p.pagesSeen++;
		return this.#refresh(p);
	}

	async typing(
		connectionId: string,
		conversationId: string,
		ttlMs: number
	): Promise<TypingChange | null> {
		const connection = this.#connections.get(connectionId);
		if (!connection) return null;
		const k = typingKey(connection.workspaceId, conversationId, connection.userId);
		const held = this.#typing.get(k);
		const deadline = Date.now() + ttlMs;
		if (held) {
			held.deadline = deadline;
			held.connectionId = connectionId;
			return null;
		}
		const typing: Typing = {
			workspaceId: connection.workspaceId,
			conversationId,
			userId: connection.userId,
			connectionId,
			deadline
		};
		this.#typing.set(k, typing);
		return this.#emitTyping(typing, true);
	}

	async stopTyping(
		workspaceId: string,
		userId: string,
		conversationId: string
	): Promise<TypingChange | null> {
		return this.#endTyping(typingKey(workspaceId, conversationId, userId));
	}

	listenTyping(workspaceId: string, listener: TypingListener, signal: AbortSignal): Promise<void> {
		return this.#typingListeners.add(workspaceId, listener, signal);
	}

	#endTyping(k: string): TypingChange | null {
		const typing = this.#typing.get(k);
		if (!typing) return null;
		this.#typing.delete(k);
		return this.#emitTyping(typing, false);
	}

	#emitTyping(typing: Typing, on: boolean): TypingChange {
		const change: TypingChange = {
			workspaceId: typing.workspaceId,
			conversationId: typing.conversationId,
			userId: typing.userId,
			typing: on
		};
		this.#typingListeners.emit(typing.workspaceId, change);
		return change;
	}

	async owner(connectionId: string): Promise<PersonRef | null> {
		const connection = this.#connections.get(connectionId);
		return connection ? { workspaceId: connection.workspaceId, userId: connection.userId } : null;
	}

	async read(workspaceId: string, userIds: readonly string[]): Promise<Map<string, PresenceState>> {
		const states = new Map<string, PresenceState>();
		for (const userId of userIds) {
			const p = this.#people.get(key(workspaceId, userId));
			states.set(userId, p ? stateOf(p, true) : offlineState(userId));
		}
		return states;
	}

	async isOnline(workspaceId: string, userId: string): Promise<boolean> {
		return this.#people.get(key(workspaceId, userId))?.online ?? false;
	}

	async online(workspaceId: string, limit: number): Promise<PresenceState[]> {
		const states: PresenceState[] = [];
		for (const p of this.#people.values()) {
			if (states.length >= limit) break;
			if (p.workspaceId === workspaceId && p.online) states.push(stateOf(p, true));
		}
		return states;
	}

	listen(workspaceId: string, listener: PresenceListener, signal: AbortSignal): Promise<void> {
		return this.#fanout.listen(workspaceId, listener, signal);
	}

	watchExpiry(connectionId: string, onExpired: () => void, signal: AbortSignal): void {
		const ws = workspaceOfConnection(connectionId);
		if (ws !== null) this.#fanout.watch(ws, connectionId, onExpired, signal);
	}

	watchExpiries(onExpired: (connectionId: string) => void, signal: AbortSignal): void {
		this.#fanout.watchAll(onExpired, signal);
	}

	async start(): Promise<void> {
		this.#stopped = false;
		this.#sweepTask.start();
	}

	async stop(): Promise<void> {
		if (this.#stopped) return;
		this.#stopped = true;
		await this.#sweepTask.stop();
		for (const id of [...this.#connections.keys()]) await this.disconnect(id);
		// No other node will end these graces: this process was the only one. Everyone it held is
		// gone with it, so they go offline now and their last_seen_at is written before exit.
		for (const p of [...this.#graced]) this.#goOffline(p);
		await this.#lastSeen.flush();
	}

	async stats(): Promise<PresenceStats> {
		let online = 0;
		for (const person of this.#people.values()) if (person.connections.size > 0) online++;
		// One process: its sweep is a timer tick away at most, it has no Redis to fail and no lease;
		// every change it makes is delivered to its own listeners.
		return {
			local_connections: this.#connections.size,
			local_people: online,
			sweep_lag_ms: 0,
			errors_total: 0,
			redis_errors: {},
			changes_published_total: this.#changes,
			changes_received_total: this.#changes,
			lease_refresh_age_ms: 0,
			reincarnations_total: 0
		};
	}

	// ---------------------------------------------------------------- internals

	#person(workspaceId: string, userId: string): Person {
		const k = key(workspaceId, userId);
		let p = this.#people.get(k);
		if (!p) {
			p = {
				workspaceId,
				userId,
				connections: new Set(),
				graceUntil: null,
				online: false,
				version: 0,
				lastSeenAt: null,
				focus: null,
				focusInherited: false,
				idleSince: null,
				availability: null,
				page: null,
				pagesSeen: 0,
				reportedAt: 0
			};
			this.#people.set(k, p);
		}
		return p;
	}

	/** Strictly increasing microseconds: versions and report times (like TIME in the scripts). */
	#micros(): number {
		this.#lastMicros = Math.max(this.#lastMicros + 1, Date.now() * 1000);
		return this.#lastMicros;
	}

	#reportTime(p: Person): number {
		p.reportedAt = Math.max(this.#micros(), p.reportedAt + 1);
		return p.reportedAt;
	}

	/** Person-level focus: latest-reported non-null focus; page: latest-reported page (see README). */
	#derive(p: Person): void {
		let focus: string | null = null;
		let focusAt = -1;
		let inherited = false;
		let page: CurrentPage | null = null;
		let pageAt = -1;
		let idleSince: number | null = null;
		let allIdle = p.connections.size > 0;
		for (const id of p.connections) {
			const c = this.#connections.get(id);
			if (!c) continue;
			if (c.idleSince === null) allIdle = false;
			else idleSince = Math.max(idleSince ?? 0, c.idleSince);
			if (c.focus !== null && c.focusAt > focusAt) {
				[focus, focusAt, inherited] = [c.focus, c.focusAt, c.focusLentUntil !== null];
			}
			if (c.page !== null && c.pageAt > pageAt) [page, pageAt] = [c.page, c.pageAt];
		}
		p.focus = focus;
		p.focusInherited = inherited;
		p.page = page;
		p.idleSince = allIdle ? idleSince : null;
	}

	#refresh(p: Person): PresenceChange | null {
		const before = { focus: p.focus, page: p.page, idleSince: p.idleSince };
		this.#derive(p);
		if (
			before.focus === p.focus &&
			samePage(before.page, p.page) &&
			before.idleSince === p.idleSince
		)
			return null;
		return this.#emit(p);
	}

	#emit(p: Person): PresenceChange {
		p.version = Math.max(p.version + 1, this.#micros());
		const change: PresenceChange = { ...stateOf(p), workspaceId: p.workspaceId };
		this.#changes++;
		this.#fanout.emit(change);
		return change;
	}

	#goOffline(p: Person): PresenceChange | null {
		p.graceUntil = null;
		this.#graced.delete(p);
		if (!p.online) return null;
		p.online = false;
		p.focus = null;
		p.focusInherited = false;
		p.page = null;
		p.idleSince = null;
		p.lastSeenAt = Date.now();
		this.#lastSeen.add(p.workspaceId, p.userId, p.lastSeenAt);
		return this.#emit(p);
	}

	#remove(connectionId: string): Connection | null {
		const connection = this.#connections.get(connectionId);
		if (!connection) return null;
		this.#connections.delete(connectionId);
		this.#person(connection.workspaceId, connection.userId).connections.delete(connectionId);
		for (const [k, typing] of this.#typing) {
			if (typing.connectionId === connectionId) this.#endTyping(k);
		}
		return connection;
	}

	#afterRemoval(p: Person, graceMs: number): PresenceChange | null {
		if (p.connections.size > 0) return this.#refresh(p);
		if (graceMs > 0 && p.online) {
			// Nothing visible changes during the grace: focus and page stay as they were.
			p.graceUntil = Date.now() + graceMs;
			this.#graced.add(p);
			return null;
		}
		return this.#goOffline(p);
	}

	#sweep(): void {
		const now = Date.now();
		const expired: Connection[] = [];
		for (const [id, connection] of this.#connections) {
			if (connection.deadline > now) continue;
			this.#remove(id);
			expired.push(connection);
			this.#fanout.expire(id);
		}
		// The heartbeat timeout already was the wait: offline at once, no extra grace.
		for (const connection of expired) {
			this.#afterRemoval(this.#person(connection.workspaceId, connection.userId), 0);
		}
		// A reloaded tab that never said what it shows: it is not known to show the conversation.
		for (const connection of this.#connections.values()) {
			if (connection.focusLentUntil === null || connection.focusLentUntil > now) continue;
			connection.focus = null;
			connection.focusLentUntil = null;
			this.#refresh(this.#person(connection.workspaceId, connection.userId));
		}
		for (const [k, typing] of this.#typing) {
			if (typing.deadline <= now) this.#endTyping(k);
		}
		for (const p of [...this.#graced]) {
			if (p.graceUntil !== null && p.graceUntil <= now && p.connections.size === 0) {
				this.#goOffline(p);
			}
		}
		if (now - this.#lastForget < 3600_000) return;
		this.#lastForget = now;
		for (const [k, p] of this.#people) {
			if (
				!p.online &&
				p.connections.size === 0 &&
				p.graceUntil === null &&
				p.lastSeenAt !== null &&
				now - p.lastSeenAt > FORGET_AFTER_MS
			) {
				this.#people.delete(k);
			}
		}
	}
}

function key(workspaceId: string, userId: string): string {
	return `${workspaceId}\u0000${userId}`;
}

function typingKey(workspaceId: string, conversationId: string, userId: string): string {
	return `${workspaceId}\u0000${conversationId}|${userId}`;
}

function samePage(a: CurrentPage | null, b: CurrentPage | null): boolean {
	return a === b || (a !== null && b !== null && a.url === b.url && a.title === b.title);
}

/** `reading`: a read, which carries `pagesSeen` (changes do not, as on the Redis backend). */
function stateOf(p: Person, reading = false): PresenceState {
	const state: PresenceState = {
		userId: p.userId,
		isOnline: p.online,
		focusConversationId: p.online ? p.focus : null,
		currentPage: p.online && p.page ? { ...p.page } : null,
		lastSeenAt: p.lastSeenAt,
		version: p.version
	};
	if (state.focusConversationId !== null && p.focusInherited) state.focusInherited = true;
	if (p.online && p.idleSince !== null) state.idleSince = p.idleSince;
	if (p.availability !== null) state.availability = p.availability;
	if (reading && p.online && p.pagesSeen > 0) state.pagesSeen = p.pagesSeen;
	return state;
}
