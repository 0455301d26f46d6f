import type { LastSeenWriter } from '../shared/last-seen-writer';
import { RepeatingTask } from '../shared/timer';
import { DueNotes } from './due-notes';
import type { NodeLease } from './node-lease';
import { PARALLEL } from './presence-scripts';
import type { EngineContext } from './engine-context';

/** How long after a due note the next one for the same workspace waits to go with others. */
const DUE_NOTE_SPACING_MS = 50;

/** Due items one sweep script claims per kind; more are left for the next call. */
const SWEEP_BATCH = 500;
/** Workspaces claimed per CLAIM call; a sweep tick loops while there are more. */
const CLAIM_BATCH = 100;
/** Batches swept back to back in one claimed workspace before it is settled (a busy workspace). */
const MAX_BATCHES_PER_CLAIM = 40;
const MAX_CLAIM_ROUNDS = 20;

/**
 * The node's share of the sweep, which any node may do for the whole cluster: every deadline a
 * transition sets is noted in the due index (`due`, workspace -> earliest deadline), and each
 * sweep tick claims due workspaces (one node at a time each), runs sweep.lua in them, and reaps
 * the connections of node incarnations whose lease lapsed.
 */
export class DueSweeper {
	#ctx: EngineContext;
	#lease: NodeLease;
	#lastSeen: LastSeenWriter;
	#task: RepeatingTask;
	#stopped = false;
	/** Due-index updates that failed: retried each sweep tick, or a grace could never be swept. */
	#pendingNotes = new Map<string, number>();
	#dueNotes: DueNotes;

	constructor(ctx: EngineContext, options: { lease: NodeLease; lastSeen: LastSeenWriter }) {
		this.#ctx = ctx;
		this.#lease = options.lease;
		this.#lastSeen = options.lastSeen;
		this.#dueNotes = new DueNotes(
			(workspaceId, deadline) => this.#ctx.scripts.noteDue({ workspaceId, deadline }),
			// Late by this much at most: a sweep tick is far coarser.
			{ spacingMs: Math.min(DUE_NOTE_SPACING_MS, this.#ctx.timings.sweepIntervalMs / 4) }
		);
		this.#task = new RepeatingTask(
			this.#ctx.timings.sweepIntervalMs,
			() => this.#tick(),
			(error) => this.#ctx.log.warn('sweep', 'sweep failed', error)
		);
	}

	start(): void {
		this.#task.start();
	}

	/** Stops sweeping (waits for a tick in progress). */
	async stop(): Promise<void> {
		this.#stopped = true;
		await this.#task.stop();
	}

	/** A simulated crash: stops at once. */
	halt(): void {
		this.#stopped = true;
		this.#task.halt();
	}

	/**
	 * The workspace must be swept by `deadline` (ms, Redis clock), whichever node survives.
	 * Never throws: a failed update is kept and retried by the sweep tick.
	 */
	async note(workspaceId: string, deadline: number): Promise<void> {
		try {
			await this.#dueNotes.note(workspaceId, deadline);
		} catch (error) {
			const pending = this.#pendingNotes.get(workspaceId);
			this.#pendingNotes.set(
				workspaceId,
				pending === undefined ? deadline : Math.min(pending, deadline)
			);
			this.#ctx.log.warn('note-due', 'updating the due index failed, will retry', error);
		}
	}

	/** How late the earliest due workspace is (0 when none is late, or Redis is away). */
	async lagMs(): Promise<number> {
		try {
			// The earliest due workspace; a sweeper's claim marker (a .5 score) is in the future.
			const [, score] = await this.#ctx.redis.zrange(this.#ctx.keys.due, '0', '0', 'WITHSCORES');
			if (score !== undefined && Number(score) % 1 === 0) {
				return Math.max(0, Date.now() - Number(score));
			}
		} catch {
			// Redis away: errors_total tells.
		}
		return 0;
	}

	async #retryNotes() {
		for (const [workspaceId, deadline] of [...this.#pendingNotes]) {
			await this.#ctx.scripts.noteDue({ workspaceId, deadline });
			if (this.#pendingNotes.get(workspaceId) === deadline) this.#pendingNotes.delete(workspaceId);
		}
	}

	async #tick() {
		if (this.#stopped) return;
		try {
			if (this.#pendingNotes.size) await this.#retryNotes();
			await this.#sweepDue();
		} catch (error) {
			this.#lease.holdReaping();
			this.#ctx.log.warn('sweep', 'sweep failed', error);
		}
		try {
			if (this.#lease.mayReap) await this.#reapDeadNodes();
		} catch (error) {
			this.#lease.holdReaping();
			this.#ctx.log.warn('reap', 'checking node leases failed', error);
		}
		await this.#lastSeen.flush();
	}

	/** Claims due workspaces (each claimed by one node at a time) and sweeps each with one script. */
	async #sweepDue() {
		const markerMs = Math.max(1000, 5 * this.#ctx.timings.sweepIntervalMs);
		for (let round = 0; round < MAX_CLAIM_ROUNDS && !this.#stopped; round++) {
			const claimed = await this.#ctx.scripts.claimDue({ limit: CLAIM_BATCH, markerMs });
			for (let i = 0; i < claimed.length; i += PARALLEL) {
				await Promise.all(
					claimed.slice(i, i + PARALLEL).map(([ws, marker]) => this.#sweepClaimed(ws, marker))
				);
			}
			if (claimed.length < CLAIM_BATCH) return;
		}
	}

	async #sweepClaimed(workspaceId: string, marker: string) {
		// A busy workspace may have more than one batch due: keep sweeping it now rather
		// than a tick later, so its ghosts still go within timeout + sweep period.
		let next: number | null = null;
		for (let batch = 0; batch < MAX_BATCHES_PER_CLAIM && !this.#stopped; batch++) {
			const result = await this.#ctx.scripts.sweep({ workspaceId, batch: SWEEP_BATCH });
			if (!result) return;
			next = result.next;
			if (next === null || next > result.now) break;
		}
		await this.#ctx.scripts.settleDue({ workspaceId, marker, next });
	}

	/** A registered node incarnation whose lease lapsed: expire all its connections, per workspace. */
	async #reapDeadNodes() {
		const holders = await this.#ctx.redis.smembers(this.#ctx.keys.nodes);
		const others = holders.filter((h) => h !== this.#lease.holder);
		if (others.length === 0) return;
		const alive = await Promise.all(
			others.map((h) => this.#ctx.redis.exists(this.#ctx.keys.lease(h)))
		);
		for (const [i, holder] of others.entries()) {
			if (alive[i] || this.#stopped) continue;
			await this.#reap(holder);
		}
	}

	async #reap(holder: string) {
		const key = this.#ctx.keys.holderWorkspaces(holder);
		const workspaces = await this.#ctx.redis.smembers(key);
		let expired = 0;
		for (let i = 0; i < workspaces.length; i += PARALLEL) {
			await Promise.all(
				workspaces.slice(i, i + PARALLEL).map(async (workspaceId) => {
					const result = await this.#ctx.scripts.expireHolder({ workspaceId, holder });
					if (!result) return;
					expired += result.expired;
					await this.#ctx.redis.srem(key, workspaceId);
				})
			);
		}
		await this.#ctx.redis.srem(this.#ctx.keys.nodes, holder);
		if (expired > 0) {
			this.#ctx.logger.info(
				`[presence] node ${holder} lost its lease: expired ${expired} connection(s)`
			);
		}
	}
}
