import { commandTimeoutOf, type RedisClient } from '../presence/redis/client';
import { subscribeWithin } from '../redis/clients';
import type { ConsoleLogger } from '../log';
import { ListenerSet } from './listeners';
import type { EventBus, WorkspaceEvent } from './types';

/**
 * Workspace events over Redis pub/sub. Shares the node's one subscriber connection with the
 * presence engine (its channels differ); a channel is subscribed while a local listener exists.
 */
export class RedisEventBus implements EventBus {
	#publisher: RedisClient;
	#subscriber: RedisClient;
	#prefix: string;
	#listeners: ListenerSet<WorkspaceEvent>;
	#subscribeWaitMs: number;
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
	}

	#channel(workspaceId: string): string {
		return `${this.#prefix}{${workspaceId}}:events`;
	}

	#workspaceOf(channel: string): string | null {
		const head = `${this.#prefix}{`;
		if (!channel.startsWith(head) || !channel.endsWith('}:events')) return null;
		return channel.slice(head.length, -'}:events'.length);
	}

	async publish(workspaceId: string, event: WorkspaceEvent): Promise<void> {
		await this.#publisher.publish(this.#channel(workspaceId), JSON.stringify(event));
	}

	listen(workspaceId: string, listener: (event: WorkspaceEvent) => void, signal: AbortSignal) {
		return this.#listeners.add(workspaceId, listener, signal);
	}

	async close(): Promise<void> {
		this.#subscriber.off('message', this.#onMessage);
	}
}
