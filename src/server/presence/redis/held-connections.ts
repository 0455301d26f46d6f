import { newConnectionId, workspaceOfConnection } from '../shared/ids';
import type { HeartbeatLimit, PersonRef, PresenceChange } from '../types';
import { INHERITED_FOCUS_MS } from '../types';
import type { DueSweeper } from './due-sweeper';
import type { NodeLease } from './node-lease';
import { ReRegistration } from './re-registration';
import type { EngineContext } from './engine-context';

/** What this node knows of a connection it holds (a stream is open here), to re-register it. */
interface HeldConnection {
	workspaceId: string;
	userId: string;
	focus: string | null;
	/** Report time from Redis (decimal µs string), '0' when never confirmed by Redis. */
	focusAt: string;
	page: string | null;
	pageAt: string;
	/** A focus/page report that failed (Redis away): sent again with the re-registration. */
	pendingFocus: boolean;
	pendingPage: boolean;
}

/**
 * The connections whose streams are open on this node: their registration in Redis, their
 * reports, their removal, and registering them again whenever Redis may have lost them (Redis
 * away, restarted or flushed; the lease lapsed). Every call fails soft: a stream stays open
 * while Redis is away, and what did not reach Redis is kept dirty and sent again at the next
 * lease tick.
 */
export class HeldConnections {
	#ctx: EngineContext;
	#lease: NodeLease;
	#sweeper: DueSweeper;
	#held = new Map<string, HeldConnection>();
	/** Held connections whose registration or last report may be missing in Redis. */
	#dirty: ReRegistration;
	/** Workspaces recorded in this incarnation's `node:<holder>:ws` set. */
	#registeredWorkspaces = new Set<string>();

	constructor(ctx: EngineContext, options: { lease: NodeLease; sweeper: DueSweeper }) {
		this.#ctx = ctx;
		this.#lease = options.lease;
		this.#sweeper = options.sweeper;
		this.#dirty = new ReRegistration(this.#lease, (id) => this.#reRegister(id));
	}

	get size(): number {
		return this.#held.size;
	}

	/** How many people the held connections belong to. */
	get people(): number {
		const people = new Set<string>();
		for (const held of this.#held.values()) people.add(`${held.workspaceId}:${held.userId}`);
		return people.size;
	}

	/** `read`: people whose raw summaries come back too, from the same script (`summaries`). */
	async connect(
		person: PersonRef,
		read?: readonly string[]
	): Promise<{
		connectionId: string;
		change: PresenceChange | null;
		summaries?: (string | null)[];
	}> {
		const connectionId = newConnectionId(person.workspaceId);
		const held: HeldConnection = {
			workspaceId: person.workspaceId,
			userId: person.userId,
			focus: null,
			focusAt: '0',
			page: null,
			pageAt: '0',
			pendingFocus: false,
			pendingPage: false
		};
		this.#held.set(connectionId, held);
		try {
			const result = await this.#register(connectionId, held, read);
			return {
				connectionId,
				change: lastChangeOf(result.changes, person.userId),
				...(result.summaries ? { summaries: result.summaries } : {})
			};
		} catch (error) {
			// Fail soft: the stream stays open; the lease tick registers it once Redis answers.
			this.#dirty.add(connectionId);
			this.#ctx.log.warn('connect', 'connect could not reach Redis, will register later', error);
			return { connectionId, change: null };
		}
	}

	async heartbeat(
		connectionId: string,
		userId?: string,
		limit?: HeartbeatLimit
	): Promise<boolean | 'limited'> {
		const workspaceId = workspaceOfConnection(connectionId);
		if (workspaceId === null) return false;
		const held = this.#held.get(connectionId);
		if (held && userId !== undefined && held.userId !== userId) return false;
		try {
			const alive = await this.#ctx.scripts.heartbeat({
				workspaceId,
				connectionId,
				heartbeatTimeoutMs: this.#ctx.timings.heartbeatTimeoutMs,
				userId,
				limit
			});
			if (alive) return alive;
			// Unknown to Redis but its stream is open here: Redis lost it (restart, flush) before
			// the lease tick noticed. The client is evidently alive: register it again now.
			if (!held) return false;
			await this.#register(connectionId, held);
			return true;
		} catch (error) {
			this.#ctx.log.warn('heartbeat', 'heartbeat could not reach Redis', error);
			if (!held) return false;
			this.#dirty.add(connectionId);
			return true;
		}
	}

	async disconnect(connectionId: string): Promise<PresenceChange | null> {
		const held = this.#held.get(connectionId);
		this.#held.delete(connectionId);
		this.#dirty.delete(connectionId);
		const ws = workspaceOfConnection(connectionId);
		if (ws === null) return null;
		try {
			const result = await this.#remove(connectionId, ws);
			if (!result) return null;
			return lastChangeOf(result.changes, result.userId ?? held?.userId);
		} catch (error) {
			// Its heartbeats stop now, so the sweep expires it after the heartbeat timeout.
			this.#ctx.log.warn(
				'disconnect',
				'disconnect could not reach Redis (the sweep will expire it)',
				error
			);
			return null;
		}
	}

	async owner(connectionId: string): Promise<PersonRef | null> {
		const ws = workspaceOfConnection(connectionId);
		if (ws === null) return null;
		try {
			const userId = await this.#ctx.redis.hget(this.#ctx.keys.connection(ws, connectionId), 'u');
			if (userId !== null) return { workspaceId: ws, userId };
			const held = this.#held.get(connectionId);
			// Held here but unknown to Redis: Redis lost it; heartbeat() registers it again.
			return held ? { workspaceId: ws, userId: held.userId } : null;
		} catch (error) {
			this.#ctx.log.warn('owner', 'owner lookup could not reach Redis', error);
			const held = this.#held.get(connectionId);
			return held ? { workspaceId: ws, userId: held.userId } : null;
		}
	}

	/** A focus ('f': conversation id) or page ('p': page JSON) report; '' clears it. */
	async report(
		connectionId: string,
		field: 'f' | 'p',
		value: string
	): Promise<PresenceChange | null> {
		const workspaceId = workspaceOfConnection(connectionId);
		if (workspaceId === null) return null;
		const held = this.#held.get(connectionId);
		if (held) {
			if (field === 'f') held.focus = value || null;
			else held.page = value || null;
		}
		try {
			const result = await this.#ctx.scripts.report({
				workspaceId,
				connectionId,
				field,
				value,
				via: this.#lease.holder
			});
			if (!result) {
				// Unknown to Redis. If its stream is open here, Redis lost it: register it again,
				// with this report, at the next lease tick (or sooner on a heartbeat).
				if (held) {
					this.#markPending(held, field);
					this.#dirty.add(connectionId);
				}
				return null;
			}
			if (held) {
				const at = result.reportedAt;
				if (field === 'f') [held.focusAt, held.pendingFocus] = [at, false];
				else [held.pageAt, held.pendingPage] = [at, false];
			}
			return result.changes.at(-1) ?? null;
		} catch (error) {
			this.#ctx.log.warn('report', 'focus/page report could not reach Redis, will retry', error);
			if (held) {
				this.#markPending(held, field);
				this.#dirty.add(connectionId);
			}
			return null;
		}
	}

	/** The bus said Redis expired the connection (an 'x' notice): it is not held any more. */
	expired(connectionId: string): void {
		this.#held.delete(connectionId);
		this.#dirty.delete(connectionId);
	}

	/** A report made through another node (an 'r' message): keeps our copy right, if newer. */
	reportedElsewhere(connectionId: string, field: 'f' | 'p', value: string, at: string): void {
		const held = this.#held.get(connectionId);
		if (!held) return;
		const current = value === '' ? null : value;
		if (field === 'f' && BigInt(at) > BigInt(held.focusAt)) {
			held.focus = current;
			held.focusAt = at;
		} else if (field === 'p' && BigInt(at) > BigInt(held.pageAt)) {
			held.page = current;
			held.pageAt = at;
		}
	}

	/** The lease was found missing: nothing recorded for the old incarnation counts. */
	incarnated(old: string, holder: string): void {
		this.#registeredWorkspaces.clear();
		this.#ctx.logger.warn(
			`[presence] node lease ${old} was missing (Redis restarted/flushed, or this node stalled): re-registering ${this.#held.size} connection(s) as ${holder}`
		);
	}

	/** Every held connection must be registered again (under a new incarnation). */
	markAllDirty(): void {
		for (const id of this.#held.keys()) this.#dirty.add(id);
	}

	/** Registers again what may be missing in Redis (see re-registration.ts). */
	flushDirty(): Promise<void> {
		return this.#dirty.flush();
	}

	/**
	 * Goodbye with grace for every held connection: a client that reconnects to another node
	 * within it shows nothing. False when some could not be removed (Redis failed).
	 */
	async removeAll(): Promise<boolean> {
		const ids = [...this.#held.keys()];
		let clean = true;
		await Promise.all(
			ids.map(async (id) => {
				const ws = workspaceOfConnection(id);
				this.#held.delete(id);
				if (!ws) return;
				try {
					await this.#remove(id, ws);
				} catch {
					clean = false;
				}
			})
		);
		this.#dirty.clear();
		return clean;
	}

	async #reRegister(connectionId: string) {
		const held = this.#held.get(connectionId);
		if (!held) {
			this.#dirty.delete(connectionId);
			return;
		}
		try {
			const holder = this.#lease.holder;
			await this.#register(connectionId, held);
			if (held.pendingFocus) await this.report(connectionId, 'f', held.focus ?? '');
			if (held.pendingPage) await this.report(connectionId, 'p', held.page ?? '');
			// Registered under an incarnation that is no longer ours: the lease tick's flush (or the
			// one `#register` started) must do it again, so it stays dirty.
			const current = holder === this.#lease.holder;
			if (current && !held.pendingFocus && !held.pendingPage) this.#dirty.delete(connectionId);
		} catch (error) {
			this.#ctx.log.warn('reregister', 're-registering connections failed, will retry', error);
		}
	}

	async #register(connectionId: string, held: HeldConnection, read?: readonly string[]) {
		// Known workspace: no await, so the script is sent in the caller's own turn (a person
		// coming online is published by it; everyone who sees them waits for that).
		const holder = this.#registeredWorkspaces.has(held.workspaceId)
			? this.#lease.holder
			: await this.#ensureWorkspaceRecorded(held.workspaceId);
		const workspaceId = held.workspaceId;
		const result = await this.#ctx.scripts.register({
			workspaceId,
			connectionId,
			userId: held.userId,
			holder,
			heartbeatTimeoutMs: this.#ctx.timings.heartbeatTimeoutMs,
			focus: held.focus,
			focusAt: held.focusAt,
			page: held.page,
			pageAt: held.pageAt,
			inheritedFocusMs: this.#ctx.timings.inheritedFocusMs ?? INHERITED_FOCUS_MS,
			read
		});
		if (holder !== this.#lease.holder) {
			// We reincarnated while this was in flight: it may have landed after the connection's
			// re-registration under the new incarnation and moved it back under the old one, which
			// has no lease and that no reaper looks at, so a crash of this node would leave it to
			// the heartbeat timeout (seen in the truth benchmark after a Redis restart). Redo it.
			this.#dirty.add(connectionId);
			void this.flushDirty();
		}
		// Not awaited: the note may wait a little to go with others (DueNotes), and a crash before
		// it leaves is the reaper's case anyway (the holder's workspaces were recorded first).
		if (result.due !== null) void this.#sweeper.note(workspaceId, result.due);
		if (this.#held.get(connectionId) !== held) {
			// Its stream closed (or it expired) while we were registering it: the disconnect may
			// have reached Redis first and found nothing. Remove it now rather than leave a ghost
			// until the heartbeat timeout.
			await this.#removeQuietly(connectionId, workspaceId);
		}
		return result;
	}

	/**
	 * The disconnect script (with the grace), its changes, and the grace's end in the due index.
	 * Null when Redis did not know the connection. Throws when Redis cannot be reached.
	 */
	async #remove(connectionId: string, workspaceId: string) {
		const result = await this.#ctx.scripts.disconnect({
			workspaceId,
			connectionId,
			graceMs: this.#ctx.timings.graceMs
		});
		if (!result) return null;
		if (result.graceEnd !== null) await this.#sweeper.note(workspaceId, result.graceEnd);
		return result;
	}

	async #removeQuietly(connectionId: string, workspaceId: string) {
		try {
			await this.#remove(connectionId, workspaceId);
		} catch (error) {
			this.#ctx.log.warn(
				'disconnect',
				'removing a closed connection failed (it will expire)',
				error
			);
		}
	}

	#markPending(held: HeldConnection, field: 'f' | 'p') {
		if (field === 'f') held.pendingFocus = true;
		else held.pendingPage = true;
	}

	/** Returns the incarnation the workspace was recorded for: register under that one only. */
	async #ensureWorkspaceRecorded(workspaceId: string): Promise<string> {
		const holder = this.#lease.holder;
		if (this.#registeredWorkspaces.has(workspaceId)) return holder;
		// Before the connection exists in the workspace, so a reaper that finds our lease gone
		// always knows where to look.
		await this.#ctx.redis.sadd(this.#ctx.keys.holderWorkspaces(holder), workspaceId);
		// A reincarnation while the SADD was in flight (Redis just came back) cleared the cache
		// for the new holder: caching now would leave the new holder's list without this
		// workspace, and a crash of this node would then leave its people to the heartbeat
		// timeout instead of the reaper.
		if (this.#lease.holder === holder) this.#registeredWorkspaces.add(workspaceId);
		return holder;
	}
}

function lastChangeOf(
	changes: PresenceChange[],
	userId: string | undefined
): PresenceChange | null {
	for (let i = changes.length - 1; i >= 0; i--) {
		if (changes[i]!.userId === userId) return changes[i]!;
	}
	return changes.at(-1) ?? null;
}
