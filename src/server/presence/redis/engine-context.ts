import type { PresenceLogger, ThrottledLog } from '../shared/logger';
import type { PresenceTimings } from '../types';
import type { RedisClient } from './client';
import type { PresenceKeys } from './keys';
import type { PresenceScripts } from './presence-scripts';

/** What every part of the Redis engine (engine.ts) shares. */
export interface EngineContext {
	/** The command client. */
	redis: RedisClient;
	keys: PresenceKeys;
	timings: PresenceTimings;
	scripts: PresenceScripts;
	/** Failures, counted by operation (stats) and throttled. */
	log: ThrottledLog;
	logger: PresenceLogger;
}
