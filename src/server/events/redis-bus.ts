import { commandTimeoutOf, type RedisClient } from '../presence/redis/client';
import { subscribeWithin } from '../redis/clients';
import type { ConsoleLogger } from '../log';
import { ListenerSet } from '../../lib/listener-set';
import type { EventBus, WorkspaceEvent } from './types';

/** How often a publish that failed is followed up with a `resync` while Redis stays away. */
const OWED_RETRY_MS = 1000;

/**
 * Workspace events over Redis pub/sub. Shares the node's one subscriber connection with the
 * presence engine (its channels differ); a channel is subscribed while a local listener exists.
 *
 * Pub/sub forgets what it could not deliver, so two kinds of gap are made visible to listeners
 * as a `resync` event (their clients refetch what they show):
 * - this node's subscriber reconnected: everything published meanwhile is lost for every
 *   workspace it listens to (`everyone`);
 * - a publish from this node failed: the event's recipients are owed a `resync`, published as
 *   soon as Redis takes it (so it reaches every node).
 */
export class RedisEventBus implements EventBus {
	#publisher: RedisClient;
	#subscriber: RedisClient;
	#prefix: string;
	#listeners: ListenerSet<WorkspaceEvent>;
	#subscribeWaitMs: number;
	#subscriberWasReady: boolean;
	/** Workspace -> recipients of events whose publish failed. */
	#owed = new Map<string, Set<string>>();
	#owedTimer: ReturnType<typeof setTimeout> | null = null;
	#closed = false;
	#onMessage = (channel: string, payload: string) => {
		const workspaceId = this.#workspaceOf(channel);
		if (workspaceId === null) return;
		let event: WorkspaceEvent;
		try {
			event = JSON.parse(payload) as WorkspaceEvent;
		} catch {
			return;
		}
		this.#listeners.emit(workspaceId, event);
	};

	/** Redis or Redis Cluster clients (a plain PUBLISH reaches Cluster subscribers on any shard). */
	constructor(options: {
		publisher: RedisClient;
		subscriber: RedisClient;
		keyPrefix: string;
		logger?: ConsoleLogger;
	}) {
		const logger = options.logger ?? console;
		this.#publisher = options.publisher;
		this.#subscriber = options.subscriber;
		this.#prefix = options.keyPrefix;
		this.#subscribeWaitMs = commandTimeoutOf(options.publisher) ?? 1000;
		this.#listeners = new ListenerSet({
			onFirst: async (ws) => {
				// Redis away: the stream opens anyway; the subscription completes when Redis answers.
				if (!(await subscribeWithin(this.#subscriber, this.#channel(ws), this.#subscribeWaitMs))) {
					logger.warn(`[events] subscribe to workspace ${ws} not confirmed yet`);
				}
			},
			onLast: (ws) => {
				this.#subscriber.unsubscribe(this.#channel(ws)).catch(() => {});
			},
			onError: (error) => logger.error('[events] a listener threw:', error)
		});
		this.#subscriber.on('message', this.#onMessage);
		this.#subscriberWasReady = this.#subscriber.status === 'ready';
		this.#subscriber.on('ready', this.#onSubscriberReady);
		this.#publisher.on('ready', this.#payOwed);
	}

	#onSubscriberReady = (): void => {
		if (!this.#subscriberWasReady) {
			this.#subscriberWasReady = true;
			return;
		}
		// A SUBSCRIBE that failed while Redis was away is not in ioredis's own resubscribe list.
		const workspaces = this.#listeners.keys();
		if (workspaces.length === 0) return;
		this.#subscriber.subscribe(...workspaces.map((ws) => this.#channel(ws))).then(
			() => {
				for (const ws of workspaces) {
					this.#listeners.emit(ws, { type: 'resync', recipients: [], everyone: true });
				}
			},
			() => {
				// Away again: the next 'ready' tries again.
			}
		);
	};

	#channel(workspaceId: string): string {
		return `${this.#prefix}{${workspaceId}}:events`;
	}

	#workspaceOf(channel: string): string | null {
		const head = `${this.#prefix}{`;
		if (!channel.startsWith(head) || !channel.endsWith('}:events')) return null;
		return channel.slice(head.length, -'}:events'.length);
	}

	async publish(workspaceId: string, event: WorkspaceEvent): Promise<void> {
		try {
			await this.#publisher.publish(this.#channel(workspaceId), JSON.stringify(event));
		} catch (error) {
			this.#owe(workspaceId, event.recipients);
			throw error;
		}
	}

	#owe(workspaceId: string, recipients: readonly string[]) {
		let owed = this.#owed.get(workspaceId);
		if (!owed) this.#owed.set(workspaceId, (owed = new Set()));
		for (const userId of recipients) owed.add(userId);
		this.#owedTimer ??= setTimeout(this.#payOwed, OWED_RETRY_MS);
		this.#owedTimer.unref?.();
	}

	#payOwed = (): void => {
		if (this.#owedTimer) clearTimeout(this.#owedTimer);
		this.#owedTimer = null;
		if (this.#closed) return;
		const owed = [...this.#owed];
		this.#owed.clear();
		for (const [ws, recipients] of owed) {
			const resync: WorkspaceEvent = {
				type: 'resync',
				recipients: [...recipients],
				everyone: false
			};
			this.#publisher
				.publish(this.#channel(ws), JSON.stringify(resync))
				.catch(() => this.#owe(ws, resync.recipients));
		}
	};

	listen(workspaceId: string, listener: (event: WorkspaceEvent) => void, signal: AbortSignal) {
		return this.#listeners.add(workspaceId, listener, signal);
	}

	async close(): Promise<void> {
		this.#closed = true;
		if (this.#owedTimer) clearTimeout(this.#owedTimer);
		this.#subscriber.off('message', this.#onMessage);
		this.#subscriber.off('ready', this.#onSubscriberReady);
		this.#publisher.off('ready', this.#payOwed);
	}
}
