/**
 * The presence engine (docs/design.md §2 and §3): who is online now, focus and current page,
 * versioned changes on a bus, last_seen_at written through `LastSeenStore`.
 * Two backends with the same contract: Redis (any number of nodes) and memory (one process).
 */
export * from './types';
export { RedisPresenceEngine, type RedisPresenceOptions } from './redis/engine';
export { MemoryPresenceEngine, type MemoryPresenceOptions } from './memory/engine';
export type { PresenceLogger } from './shared/logger';
export { workspaceOfConnection } from './shared/ids';
export { offlineState } from './shared/state';
