import type { Kysely } from 'kysely';
import { isDatabaseUnavailable } from '../db/errors';
import type { Database } from '../db/schema';
import type { EventBus, SessionRevokedEvent, WorkspaceEvent } from '../events/types';

/**
 * Server-side agent sessions (the cookie's `sid`), so logout revokes a cookie within its signed
 * lifetime. Every API call checks its session, so the check must not cost a Postgres query each
 * time: a node caches sessions it verified and hears revocations on the workspace's event
 * channel, which it subscribes to *before* reading Postgres. A revoke commits, then publishes;
 * so a read that saw the session live either ran before the commit (and the notice reaches this
 * node, subscribed since before the read) or saw it revoked. A revoked cookie is refused at once
 * on the node that revoked it, and on other nodes as soon as the notice arrives (pub/sub latency);
 * `freshMs` bounds the rest (a notice lost while Redis was away).
 *
 * While Postgres is away, a session verified within `staleMs` keeps working (nobody can revoke
 * it meanwhile: revoking writes Postgres), so agents stay online through a database blip.
 */

export interface SessionRegistryOptions {
	db: Kysely<Database>;
	events: EventBus;
	/** A cached session is trusted without Postgres for this long. */
	freshMs?: number;
	/** Past `freshMs`, still trusted when Postgres cannot be reached, up to this age. */
	staleMs?: number;
	/** Where warnings go (the services' logger). */
	logger?: Pick<Console, 'warn'>;
}

interface Verified {
	userId: string;
	workspaceId: string;
	verifiedAt: number;
}

export class SessionRegistry {
	#db: Kysely<Database>;
	#events: EventBus;
	#freshMs: number;
	#staleMs: number;
	#verified = new Map<string, Verified>();
	/** Revocations heard from the bus (or made here): refused even if a read in flight saw them live. */
	#revoked = new Map<string, number>();
	#watching = new Map<string, { controller: AbortController; ready: Promise<void> }>();
	#inflight = new Map<string, Promise<boolean>>();
	#timer: ReturnType<typeof setInterval>;
	#logger: Pick<Console, 'warn'>;

	constructor(options: SessionRegistryOptions) {
		this.#db = options.db;
		this.#logger = options.logger ?? console;
		this.#events = options.events;
		this.#freshMs = options.freshMs ?? 30_000;
		this.#staleMs = options.staleMs ?? 10 * 60_000;
		this.#timer = setInterval(() => this.#prune(), Math.min(this.#freshMs, 30_000));
		this.#timer.unref();
	}

	async create(userId: string, ttlSeconds: number): Promise<string> {
		// Expired rows of this agent go with each login: the table stays as small as the live sessions.
		await this.#db
			.deleteFrom('sessions')
			.where('user_id', '=', userId)
			.where('expires_at', '<', new Date())
			.execute();
		const row = await this.#db
			.insertInto('sessions')
			.values({ user_id: userId, expires_at: new Date(Date.now() + ttlSeconds * 1000) })
			.returning('id')
			.executeTakeFirstOrThrow();
		return row.id;
	}

	/**
	 * True while the session exists, is the user's, unexpired and not revoked. Throws (a 503 for
	 * the caller) when Postgres is away and the session was not verified recently enough.
	 */
	async check(sessionId: string, userId: string, workspaceId: string): Promise<boolean> {
		if (this.#revoked.has(sessionId)) return false;
		const hit = this.#verified.get(sessionId);
		if (hit && hit.userId === userId && Date.now() - hit.verifiedAt < this.#freshMs) return true;
		const key = `${sessionId}:${userId}:${workspaceId}`;
		let pending = this.#inflight.get(key);
		if (!pending) {
			pending = this.#verify(sessionId, userId, workspaceId, hit).finally(() =>
				this.#inflight.delete(key)
			);
			this.#inflight.set(key, pending);
		}
		return pending;
	}

	async #verify(
		sessionId: string,
		userId: string,
		workspaceId: string,
		hit: Verified | undefined
	): Promise<boolean> {
		await this.#watch(workspaceId);
		let row;
		try {
			row = await this.#db
				.selectFrom('sessions')
				.innerJoin('users', 'users.id', 'sessions.user_id')
				.select([
					'sessions.user_id',
					'sessions.expires_at',
					'sessions.revoked_at',
					'users.workspace_id'
				])
				.where('sessions.id', '=', sessionId)
				.executeTakeFirst();
		} catch (error) {
			if (
				hit &&
				hit.userId === userId &&
				isDatabaseUnavailable(error) &&
				Date.now() - hit.verifiedAt < this.#staleMs
			) {
				return !this.#revoked.has(sessionId);
			}
			throw error;
		}
		const live =
			row !== undefined &&
			row.user_id === userId &&
			row.workspace_id === workspaceId &&
			row.revoked_at === null &&
			row.expires_at.getTime() > Date.now();
		if (!live || this.#revoked.has(sessionId)) {
			this.#verified.delete(sessionId);
			return false;
		}
		this.#verified.set(sessionId, { userId, workspaceId, verifiedAt: Date.now() });
		return true;
	}

	/** Revokes `sessionIds` of the user, or every live session of theirs; returns what was revoked. */
	async revoke(
		identity: { userId: string; workspaceId: string },
		sessionIds?: string[]
	): Promise<string[]> {
		let query = this.#db
			.updateTable('sessions')
			.set({ revoked_at: new Date() })
			.where('user_id', '=', identity.userId)
			.where('revoked_at', 'is', null);
		if (sessionIds) {
			if (sessionIds.length === 0) return [];
			query = query.where('id', 'in', sessionIds);
		}
		const rows = await query.returning('id').execute();
		const revoked = rows.map((r) => r.id);
		if (revoked.length === 0) return [];
		this.#forget(revoked);
		const event: SessionRevokedEvent = {
			type: 'session-revoked',
			recipients: [identity.userId],
			sessionIds: revoked
		};
		try {
			await this.#events.publish(identity.workspaceId, event);
		} catch (error) {
			// Revoked in Postgres already: other nodes refuse it once their cache entry is older than freshMs.
			this.#logger.warn('[sessions] publishing a revocation failed:', (error as Error).message);
		}
		return revoked;
	}

	close(): void {
		clearInterval(this.#timer);
		for (const { controller } of this.#watching.values()) controller.abort();
		this.#watching.clear();
		this.#verified.clear();
	}

	#forget(sessionIds: string[]): void {
		const now = Date.now();
		for (const id of sessionIds) {
			this.#verified.delete(id);
			this.#revoked.set(id, now);
		}
	}

	#watch(workspaceId: string): Promise<void> {
		let watching = this.#watching.get(workspaceId);
		if (!watching) {
			const controller = new AbortController();
			const onEvent = (event: WorkspaceEvent) => {
				if (event.type === 'session-revoked') this.#forget(event.sessionIds);
			};
			const ready = this.#events.listen(workspaceId, onEvent, controller.signal).catch(() => {});
			watching = { controller, ready };
			this.#watching.set(workspaceId, watching);
		}
		return watching.ready;
	}

	/** Drops what is too old to be trusted even in an outage, and channels no cached session needs. */
	#prune(): void {
		const now = Date.now();
		const needed = new Set<string>();
		for (const [id, entry] of this.#verified) {
			if (now - entry.verifiedAt >= this.#staleMs) this.#verified.delete(id);
			else needed.add(entry.workspaceId);
		}
		// Long enough for any read in flight when the revocation arrived to have finished.
		for (const [id, at] of this.#revoked) {
			if (now - at > Math.max(this.#freshMs, 60_000)) this.#revoked.delete(id);
		}
		for (const [workspaceId, { controller }] of this.#watching) {
			if (needed.has(workspaceId) || this.#inflightIn(workspaceId)) continue;
			controller.abort();
			this.#watching.delete(workspaceId);
		}
	}

	#inflightIn(workspaceId: string): boolean {
		for (const key of this.#inflight.keys()) if (key.endsWith(`:${workspaceId}`)) return true;
		return false;
	}
}
