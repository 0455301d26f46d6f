import { randomBytes } from 'node:crypto';
import { ListenerSet } from '../../../lib/listener-set';
import { newConnectionId, workspaceOfConnection } from '../shared/ids';
import { LastSeenWriter } from '../shared/last-seen-writer';
import { LocalFanout } from '../shared/local-fanout';
import { ThrottledLog, type PresenceLogger } from '../shared/logger';
import * as rules from '../shared/rules';
import { offlineState } from '../shared/state';
import { RepeatingTask } from '../shared/timer';
import { INHERITED_FOCUS_MS, type LastSeenStore, type PresenceTimings } from '../types';
import type { Availability, CurrentPage, HeartbeatLimit, PersonRef } from '../types';
import type { PresenceChange, PresenceEngine, PresenceListener, PresenceState } from '../types';
import type { Connected, PresenceStats, TypingChange, TypingListener } from '../types';
import { ConnectionRegistry, type Connection, type Person } from './connection-registry';
import { TypingTable } from './typing-table';

export interface MemoryPresenceOptions {
	timings: PresenceTimings;
	lastSeen: LastSeenStore;
	logger?: PresenceLogger;
}

/**
 * The single-process backend (the embedded default when there is no Redis): the rules of
 * `shared/rules.ts` over a registry in memory, a sweeper on a timer. Changes are delivered to
 * listeners synchronously, in transition order.
 */
export class MemoryPresenceEngine implements PresenceEngine {
	readonly nodeId = `memory-${randomBytes(4).toString('hex')}`;

	#timings: PresenceTimings;
	#log: ThrottledLog;
	#lastSeen: LastSeenWriter;
	#fanout: LocalFanout;
	#registry = new ConnectionRegistry();
	#typing = new TypingTable();
	#heartbeats = new Map<string, rules.HeartbeatCount>();
	#sweepTask: RepeatingTask;
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

	async connect(person: PersonRef, read?: readonly string[]): Promise<Connected> {
		const connected = this.#register(person);
		return read ? { ...connected, states: await this.read(person.workspaceId, read) } : connected;
	}

	#register(person: PersonRef): { connectionId: string; change: PresenceChange | null } {
		const connectionId = newConnectionId(person.workspaceId);
		const now = Date.now();
		const p = this.#registry.person(person.workspaceId, person.userId);
		const outcome = rules.connectOutcome({
			connections: p.connections.size,
			inGrace: p.graceUntil !== null,
			online: p.summary.online
		});
		const lendMs = this.#timings.inheritedFocusMs ?? INHERITED_FOCUS_MS;
		const connection: Connection = {
			workspaceId: person.workspaceId,
			userId: person.userId,
			deadline: now + this.#timings.heartbeatTimeoutMs,
			...rules.FRESH_CONNECTION,
			...(outcome === 'inherit' ? rules.inheritedFacts(p.summary, now, lendMs) : {})
		};
		this.#registry.add(connectionId, connection);
		this.#registry.endGrace(p);
		if (outcome === 'online') {
			p.summary = rules.cameOnline(p.summary, this.#derive(p), now);
			this.#lastSeen.add(p.workspaceId, p.userId, now);
			return { connectionId, change: this.#emit(p) };
		}
		return { connectionId, change: this.#reshow(p) };
	}

	async heartbeat(
		connectionId: string,
		userId?: string,
		limit?: HeartbeatLimit
	): Promise<boolean | 'limited'> {
		if (userId !== undefined && limit && !this.#countHeartbeat(userId, limit)) return 'limited';
		const connection = this.#registry.connection(connectionId);
		if (!connection) return false;
		if (userId !== undefined && connection.userId !== userId) return false;
		const { heartbeatTimeoutMs } = this.#timings;
		connection.deadline = rules.heartbeatDeadline(
			connection.deadline,
			Date.now(),
			heartbeatTimeoutMs
		);
		return true;
	}

	/** Fixed windows per person, like the Redis backend's `rh:` counters. */
	#countHeartbeat(userId: string, limit: HeartbeatLimit): boolean {
		const { count, allowed } = rules.countHeartbeat(
			this.#heartbeats.get(userId),
			Date.now(),
			limit
		);
		if (count) {
			if (count.n === 1 && this.#heartbeats.size > 100_000) this.#heartbeats.clear();
			this.#heartbeats.set(userId, count);
		}
		return allowed;
	}

	async disconnect(connectionId: string): Promise<PresenceChange | null> {
		const connection = this.#drop(connectionId, 'closed');
		return connection && this.#afterRemoval(this.#registry.ownerOf(connection), 'closed');
	}

	async focus(connectionId: string, conversationId: string | null): Promise<PresenceChange | null> {
		const connection = this.#registry.connection(connectionId);
		if (!connection) return null;
		const p = this.#registry.ownerOf(connection);
		const at = this.#report(p, 'focus');
		Object.assign(connection, rules.focusReport(conversationId, at));
		return this.#reshow(p);
	}

	async idle(connectionId: string, idle: boolean): Promise<PresenceChange | null> {
		const connection = this.#registry.connection(connectionId);
		if (!connection) return null;
		const report = rules.idleReport(connection.idleSince, idle, Date.now());
		if (!report) return null;
		Object.assign(connection, report);
		return this.#reshow(this.#registry.ownerOf(connection));
	}

	async setAvailability(
		workspaceId: string,
		userId: string,
		availability: Availability
	): Promise<PresenceChange | null> {
		const p = this.#registry.find(workspaceId, userId);
		const next = rules.availabilityChange(p?.summary ?? null, availability);
		if (!p || !next) return null;
		p.summary = next;
		return this.#emit(p);
	}

	async page(connectionId: string, page: CurrentPage): Promise<PresenceChange | null> {
		const connection = this.#registry.connection(connectionId);
		if (!connection) return null;
		const p = this.#registry.ownerOf(connection);
		connection.pageAt = this.#report(p, 'page');
		connection.page = { url: page.url, title: page.title };
		return this.#reshow(p);
	}

	async typing(
		connectionId: string,
		conversationId: string,
		ttlMs: number
	): Promise<TypingChange | null> {
		const connection = this.#registry.connection(connectionId);
		if (!connection) return null;
		const start = this.#typing.type(connection, connectionId, conversationId, Date.now() + ttlMs);
		if (start) this.#typingListeners.emit(start.workspaceId, start);
		return start;
	}

	async stopTyping(
		workspaceId: string,
		userId: string,
		conversationId: string
	): Promise<TypingChange | null> {
		const end = this.#typing.stop(workspaceId, userId, conversationId);
		if (end) this.#typingListeners.emit(end.workspaceId, end);
		return end;
	}

	listenTyping(workspaceId: string, listener: TypingListener, signal: AbortSignal): Promise<void> {
		return this.#typingListeners.add(workspaceId, listener, signal);
	}

	async owner(connectionId: string): Promise<PersonRef | null> {
		const connection = this.#registry.connection(connectionId);
		return connection ? { workspaceId: connection.workspaceId, userId: connection.userId } : null;
	}

	async read(workspaceId: string, userIds: readonly string[]): Promise<Map<string, PresenceState>> {
		const states = new Map<string, PresenceState>();
		for (const userId of userIds) {
			const p = this.#registry.find(workspaceId, userId);
			states.set(userId, p ? rules.presenceState(userId, p.summary, true) : offlineState(userId));
		}
		return states;
	}

	async isOnline(workspaceId: string, userId: string): Promise<boolean> {
		return this.#registry.find(workspaceId, userId)?.summary.online ?? false;
	}

	async online(workspaceId: string, limit: number): Promise<PresenceState[]> {
		const states: PresenceState[] = [];
		for (const p of this.#registry.people()) {
			if (states.length >= limit) break;
			if (p.workspaceId === workspaceId && p.summary.online) {
				states.push(rules.presenceState(p.userId, p.summary, true));
			}
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
		for (const [id] of [...this.#registry.connections()]) await this.disconnect(id);
		// No other node will end these graces: this process was the only one. Everyone it held is
		// gone with it, so they go offline now and their last_seen_at is written before exit.
		for (const p of this.#registry.graced()) this.#goOffline(p);
		await this.#lastSeen.flush();
	}

	async stats(): Promise<PresenceStats> {
		let online = 0;
		for (const person of this.#registry.people()) if (person.connections.size > 0) online++;
		// One process: its sweep is a timer tick away at most, it has no Redis to fail and no lease;
		// every change it makes is delivered to its own listeners.
		return {
			local_connections: this.#registry.size,
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

	/** Strictly increasing microseconds: versions and report times (like TIME in the scripts). */
	#micros(): number {
		this.#lastMicros = rules.nextVersion(this.#lastMicros, Date.now() * 1000);
		return this.#lastMicros;
	}

	#report(p: Person, what: 'focus' | 'page'): number {
		const { summary, at } = rules.reported(p.summary, what, this.#micros());
		p.summary = summary;
		return at;
	}

	#derive(p: Person): rules.Shown {
		return rules.derive(this.#registry.connectionsOf(p));
	}

	#reshow(p: Person): PresenceChange | null {
		const { summary, changed } = rules.reshow(p.summary, this.#derive(p));
		p.summary = summary;
		return changed ? this.#emit(p) : null;
	}

	#emit(p: Person): PresenceChange {
		p.summary = { ...p.summary, version: rules.nextVersion(p.summary.version, this.#micros()) };
		const change: PresenceChange = {
			...rules.presenceState(p.userId, p.summary),
			workspaceId: p.workspaceId
		};
		this.#changes++;
		this.#fanout.emit(change);
		return change;
	}

	#goOffline(p: Person): PresenceChange | null {
		this.#registry.endGrace(p);
		const now = Date.now();
		const offline = rules.wentOffline(p.summary, now);
		if (!offline) return null;
		p.summary = offline;
		this.#lastSeen.add(p.workspaceId, p.userId, now);
		return this.#emit(p);
	}

	/** Removes a connection (closed or expired): the typing it typed last ends with it. */
	#drop(connectionId: string, cause: rules.RemovalCause): Connection | null {
		const connection = this.#registry.remove(connectionId);
		if (!connection) return null;
		for (const end of this.#typing.endOf(connectionId)) {
			this.#typingListeners.emit(end.workspaceId, end);
		}
		if (cause === 'expired') this.#fanout.expire(connectionId);
		return connection;
	}

	#afterRemoval(p: Person, cause: rules.RemovalCause): PresenceChange | null {
		const now = Date.now();
		const outcome = rules.removalOutcome(
			{ connections: p.connections.size, online: p.summary.online },
			cause,
			this.#timings.graceMs,
			now
		);
		if (outcome.kind === 'reshow') return this.#reshow(p);
		// Nothing visible changes during the grace: focus and page stay as they were.
		if (outcome.kind === 'grace') this.#registry.startGrace(p, outcome.until);
		else return this.#goOffline(p);
		return null;
	}

	#sweep(): void {
		const now = Date.now();
		const expired: Connection[] = [];
		for (const [id, connection] of this.#registry.connections()) {
			if (connection.deadline <= now) expired.push(this.#drop(id, 'expired')!);
		}
		// Every expired connection first, then their people: whoever lost every tab goes offline in
		// one change, not one per tab.
		for (const connection of expired) {
			this.#afterRemoval(this.#registry.ownerOf(connection), 'expired');
		}
		for (const [, connection] of this.#registry.connections()) {
			if (!rules.lentFocusLapsed(connection, now)) continue;
			Object.assign(connection, rules.LAPSED_FOCUS);
			this.#reshow(this.#registry.ownerOf(connection));
		}
		for (const end of this.#typing.endDue(now)) this.#typingListeners.emit(end.workspaceId, end);
		for (const p of this.#registry.graced()) {
			if (rules.graceEnded(p.graceUntil, p.connections.size, now)) this.#goOffline(p);
		}
		if (now - this.#lastForget < 3600_000) return;
		this.#lastForget = now;
		for (const p of this.#registry.people()) {
			if (p.graceUntil === null && rules.forgettable(p.summary, p.connections.size, now)) {
				this.#registry.forget(p);
			}
		}
	}
}
