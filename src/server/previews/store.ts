import type { RedisClient } from '../presence/redis/client';
import type { CurrentPage } from '../presence/types';
import type { PreviewType } from './image';

/**
 * The latest page preview per visitor, kept with the presence TTL (heartbeat timeout): it lapses
 * with the visitor's presence, and reads hide it as soon as the visitor is offline.
 */
export interface StoredPreview {
	type: PreviewType;
	/** base64 */
	data: string;
	at: number;
	/** The page it shows; absent in previews stored before pages were kept. */
	page?: CurrentPage | null;
}

export interface PreviewStore {
	put(workspaceId: string, userId: string, preview: StoredPreview, ttlMs: number): Promise<void>;
	get(workspaceId: string, userId: string): Promise<StoredPreview | null>;
}

export class RedisPreviewStore implements PreviewStore {
	#redis: RedisClient;
	#prefix: string;
	#onError: (error: unknown) => void;

	/**
	 * One Redis or a Cluster: every command touches one key (the workspace's hash tag).
	 * `onError` hears of a failed read, which answers "no preview" (metrics).
	 */
	constructor(redis: RedisClient, keyPrefix: string, onError: (error: unknown) => void = () => {}) {
		this.#redis = redis;
		this.#prefix = keyPrefix;
		this.#onError = onError;
	}

	#key(workspaceId: string, userId: string) {
		return `${this.#prefix}{${workspaceId}}:preview:${userId}`;
	}

	async put(workspaceId: string, userId: string, preview: StoredPreview, ttlMs: number) {
		await this.#redis.set(this.#key(workspaceId, userId), JSON.stringify(preview), 'PX', ttlMs);
	}

	async get(workspaceId: string, userId: string): Promise<StoredPreview | null> {
		const raw = await this.#redis.get(this.#key(workspaceId, userId)).catch((error: unknown) => {
			this.#onError(error);
			return null;
		});
		return raw ? (JSON.parse(raw) as StoredPreview) : null;
	}
}

export class MemoryPreviewStore implements PreviewStore {
	#items = new Map<string, { preview: StoredPreview; expires: number }>();

	async put(workspaceId: string, userId: string, preview: StoredPreview, ttlMs: number) {
		this.#items.set(`${workspaceId}:${userId}`, { preview, expires: Date.now() + ttlMs });
	}

	async get(workspaceId: string, userId: string) {
		const key = `${workspaceId}:${userId}`;
		const item = this.#items.get(key);
		if (!item) return null;
		if (item.expires <= Date.now()) {
			this.#items.delete(key);
			return null;
		}
		return item.preview;
	}
}
