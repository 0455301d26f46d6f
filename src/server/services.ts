import { TeamStatus } from './streams/team-status';
import type { Kysely } from 'kysely';
import { SessionRegistry } from './auth/sessions';
import { loadConfig, type Config } from './config';
import { connectConfiguredDatabase } from './db/connect';
import { createLastSeenStore } from './db/last-seen';
import { migrateToLatest } from './db/migrate';
import type { Database } from './db/schema';
import { DEMO_AGENTS, seedDemo } from './db/seed';
import type { PresenceEngine, PresenceTimings } from './presence/types';
import type { EventBus } from './events/types';
import { limitsFor, type Limits, type RateLimiter } from './limits/rate-limiter';
import { consoleLike, createLogger, defaultNodeId, type ConsoleLogger, type Logger } from './log';
import { Metrics, sqlOperation } from './metrics';
import { StreamCaps } from './streams/caps';
import type { RedisClient } from './presence/redis/client';
import { createRedisClient, createRedisClusterClient, probeRedis } from './redis/clients';
import { memoryBackend } from './backends/memory-backend';
import { redisBackend, type RedisTarget } from './backends/redis-backend';
import type { PreviewStore } from './previews/store';

/**
 * Everything a request needs, built once per process: the database, Redis, the presence engine.
 * Routers reach these through the tRPC context, never through module globals.
 */
export interface Services {
	config: Config;
	db: Kysely<Database>;
	presence: PresenceEngine;
	/** Messages, read marks, new conversations, previews: to every node's streams. */
	events: EventBus;
	previews: PreviewStore;
	limiter: RateLimiter;
	limits: Limits;
	metrics: Metrics;
	/** Open streams per person and per client address on this node. */
	streamCaps: StreamCaps;
	/** Whether each workspace's team is there, for its visitors' streams (once per change per node). */
	team: TeamStatus;
	/** Agent sessions: checked on every agent call (cached), revoked by logout. */
	sessions: SessionRegistry;
	/** Structured log; every line names this node and its lease incarnation. */
	logger: Logger;
	/** The command client (one Redis or a Cluster), or null when the single-process backend is in use. */
	redis: RedisClient | null;
	/** Aborted when the node shuts down: every stream ends so its client reconnects to another node. */
	shutdownSignal: AbortSignal;
	/** Graceful stop: presence first (its connections get their grace), then Redis and Postgres. */
	close(): Promise<void>;
}

export function timingsFrom(config: Config): PresenceTimings {
	return {
		graceMs: config.PRESENCE_GRACE_MS,
		heartbeatTimeoutMs: config.PRESENCE_HEARTBEAT_TIMEOUT_MS,
		leaseTtlMs: config.PRESENCE_LEASE_TTL_MS,
		sweepIntervalMs: config.PRESENCE_SWEEP_INTERVAL_MS
	};
}

export interface StartOptions {
	/** Where log lines go instead of stdout: one formatted line per call at its level (tests). */
	logger?: ConsoleLogger;
}

export async function startServices(config: Config, options: StartOptions = {}): Promise<Services> {
	const nodeId = config.NODE_ID ?? defaultNodeId();
	// The engine is built after the logger; until then (and on the single-process backend) lines
	// carry the node id alone.
	let incarnation: () => string | undefined = () => undefined;
	const log = createLogger({
		level: config.LOG_LEVEL,
		format: config.LOG_FORMAT,
		nodeId,
		incarnation: () => incarnation(),
		destination: options.logger
	});
	const logger = consoleLike(log);
	const limits = limitsFor({
		heartbeatIntervalMs: config.PRESENCE_HEARTBEAT_INTERVAL_MS,
		loginsPerMinute: config.LOGIN_LIMIT_PER_MINUTE
	});
	const metrics = new Metrics({ rateLimits: Object.keys(limits) });
	const database = await connectConfiguredDatabase(config, {
		logger,
		onQueryError: (sql) => metrics.postgresError(sqlOperation(sql))
	});
	logger.info(`[db] postgres: ${database.describe}${database.embedded ? ' (embedded)' : ''}`);
	if (config.MIGRATE_ON_START) {
		const applied = await migrateToLatest(database.db);
		if (applied.length) logger.info(`[db] migrated: ${applied.join(', ')}`);
	}
	if (config.SEED_DEMO) await seedDemo(database.db, logger);

	const lastSeen = createLastSeenStore(database.db);
	const timings = timingsFrom(config);
	const redisTarget = await redisTargetOf(config);
	const backendOptions = {
		keyPrefix: config.REDIS_KEY_PREFIX,
		timings,
		lastSeen,
		nodeId,
		metrics,
		logger
	};
	const backend = redisTarget
		? await redisBackend(redisTarget, config.REDIS_COMMAND_TIMEOUT_MS, backendOptions)
		: memoryBackend(backendOptions);
	incarnation = backend.incarnation;
	const { presence, events, previews, limiter, redis } = backend;
	logger.info(
		redisTarget
			? `[presence] ${backend.describe}`
			: `[presence] no REDIS_URL and no Redis at ${config.LOCAL_REDIS_URL}: using ${backend.describe}`
	);
	metrics.observeEngine(presence);
	await presence.start();
	// What `npm start` prints in a few lines once the server listens (scripts/serve.js), while
	// the log itself stays at warnings: a newcomer reads where things are, not the log.
	(globalThis as Record<symbol, unknown>)[Symbol.for('presence.startup')] = {
		postgres: `${database.describe}${database.embedded ? ' (embedded Postgres)' : ''}`,
		redis: redisTarget
			? redisTarget.describe
			: 'none found: the single-process presence backend (in memory, one node only)',
		demoLogins: config.SEED_DEMO ? DEMO_AGENTS.map((a) => `${a.email} / ${a.password}`) : []
	};

	const shutdown = new AbortController();
	const sessions = new SessionRegistry({ db: database.db, events, logger });
	return {
		config,
		db: database.db,
		presence,
		events,
		previews,
		limiter,
		limits,
		metrics,
		logger: log,
		streamCaps: new StreamCaps({
			perPerson: config.STREAM_LIMIT_PER_PERSON,
			perAddress: config.STREAM_LIMIT_PER_ADDRESS
		}),
		sessions,
		team: new TeamStatus({ db: database.db, presence, logger: log }),
		redis,
		shutdownSignal: shutdown.signal,
		async close() {
			shutdown.abort(new Error('node shutting down'));
			await presence.stop();
			sessions.close();
			await events.close();
			backend.close();
			await database.close();
		}
	};
}

/**
 * Where Redis is: REDIS_CLUSTER_NODES (a Cluster) wins over REDIS_URL, then a Redis answering at
 * LOCAL_REDIS_URL; null means the single-process backend.
 */
async function redisTargetOf(config: Config): Promise<RedisTarget | null> {
	const nodes = config.REDIS_CLUSTER_NODES;
	if (nodes) {
		return {
			describe: `cluster ${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
			create: (options) => createRedisClusterClient(nodes, options)
		};
	}
	const url =
		config.REDIS_URL ??
		((await probeRedis(config.LOCAL_REDIS_URL)) ? config.LOCAL_REDIS_URL : undefined);
	return url ? { describe: url, create: (options) => createRedisClient(url, options) } : null;
}

const SERVICES = Symbol.for('presence.services');
type Holder = { [SERVICES]?: Promise<Services> };

/** The process's services, started on first use. A globalThis singleton so dev reloads reuse them. */
export function getServices(): Promise<Services> {
	const holder = globalThis as Holder;
	holder[SERVICES] ??= startServices(loadConfig()).catch((error: unknown) => {
		delete holder[SERVICES];
		throw error;
	});
	return holder[SERVICES];
}
