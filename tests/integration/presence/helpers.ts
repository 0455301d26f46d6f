import { Redis } from 'ioredis';
import { dropKeyPrefix, TEST_REDIS_URL } from '../../support/redis';
import type { LastSeenStore, PresenceChange, PresenceEngine } from '../../../src/server/presence';

/** Shared by the presence test files: clients, a recording listener, waiting, a fake store. */

export const REDIS_URL = process.env.REDIS_URL ?? TEST_REDIS_URL;

export const COMMAND_TIMEOUT_MS = 500;

/** Like the app's clients: short command timeout, one retry, reconnect forever. */
export function redisClient(url = REDIS_URL, commandTimeoutMs = COMMAND_TIMEOUT_MS): Redis {
	const client = new Redis(url, {
		commandTimeout: commandTimeoutMs,
		connectTimeout: 1000,
		maxRetriesPerRequest: 1,
		retryStrategy: (attempt) => Math.min(attempt * 50, 300),
		lazyConnect: true
	});
	client.on('error', () => {});
	return client;
}

export { dropKeyPrefix };

export class RecordingStore implements LastSeenStore {
	writes: { workspaceId: string; userId: string; at: Date }[] = [];
	failNext = 0;
	async write(entries: { workspaceId: string; userId: string; at: Date }[]) {
		if (this.failNext > 0) {
			this.failNext--;
			throw new Error('postgres is down (simulated)');
		}
		this.writes.push(...entries);
	}
	of(userId: string) {
		return this.writes.filter((w) => w.userId === userId);
	}
}

/** Records every change a listener gets, per person. */
export class Recorder {
	events: PresenceChange[] = [];
	listener = (change: PresenceChange) => {
		this.events.push(change);
	};
	of(userId: string): PresenceChange[] {
		return this.events.filter((e) => e.userId === userId);
	}
	last(userId: string): PresenceChange | undefined {
		return this.of(userId).at(-1);
	}
}

export async function listen(engine: PresenceEngine, workspaceId: string, signal: AbortSignal) {
	const recorder = new Recorder();
	await engine.listen(workspaceId, recorder.listener, signal);
	return recorder;
}

export { sleep, waitFor } from '../../support/clock';

let counter = 0;
export function uniqueId(kind: string): string {
	return `${kind}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

/** Versions strictly increase per person across the given events. */
export function assertVersionsIncrease(events: PresenceChange[]): string | null {
	const last = new Map<string, number>();
	for (const e of events) {
		const prev = last.get(e.userId) ?? 0;
		if (!(e.version > prev)) return `version of ${e.userId} went ${prev} -> ${e.version}`;
		last.set(e.userId, e.version);
	}
	return null;
}
