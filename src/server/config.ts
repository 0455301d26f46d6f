import { z } from 'zod';

/**
 * The one place that reads the environment. Every variable is documented in the README's
 * configuration table; a bad value stops start-up with a message naming the variable.
 */

/** Marked as a demo default on purpose: production must set SESSION_SECRET. */
export const DEMO_SESSION_SECRET = 'demo-only-secret-change-me-in-production-0123456789';

const ms = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const flag = (fallback: boolean) =>
	z
		.enum(['true', 'false', '1', '0', 'yes', 'no'])
		.default(fallback ? 'true' : 'false')
		.transform((v) => v === 'true' || v === '1' || v === 'yes');

/** One `host:port` of a Redis Cluster seed list (`[v6]:port` for IPv6). */
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export interface ClusterNode {
	host: string;
	port: number;
}

/** `REDIS_CLUSTER_NODES`: comma-separated `host:port` seed nodes (spaces around commas allowed). */
const clusterNodes = z.string().transform((value, ctx): ClusterNode[] => {
	const entries = value
		.split(',')
		.map((entry) => entry.trim())
		.filter(Boolean);
	const nodes: ClusterNode[] = [];
	for (const entry of entries) {
		const match = HOST_PORT.exec(entry);
		const port = Number(match?.[2]);
		if (!match || port < 1 || port > 65535) {
			ctx.addIssue({
				code: 'custom',
				message: `expected comma-separated host:port seed nodes (e.g. 10.0.0.1:7000,10.0.0.2:7000), got "${entry}"`
			});
			return z.NEVER;
		}
		nodes.push({ host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port });
	}
	if (!nodes.length) {
		ctx.addIssue({ code: 'custom', message: 'expected at least one host:port seed node' });
		return z.NEVER;
	}
	return nodes;
});

const schema = z.object({
	NODE_ENV: z.string().default('development'),
	/** Postgres; unset -> localhost:5432 if it answers, else the embedded Postgres. */
	DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
	/** Redis; unset -> localhost:6379 if it answers, else the single-process presence backend. */
	REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
	/**
	 * Redis Cluster seed nodes (`host:port,host:port`); when set they win over REDIS_URL and
	 * LOCAL_REDIS_URL, and every Redis client is an ioredis `Cluster`.
	 */
	REDIS_CLUSTER_NODES: clusterNodes.optional(),
	/** Where to look for a Postgres when DATABASE_URL is unset (its database is created if missing). */
	LOCAL_DATABASE_URL: z
		.url({ protocol: /^postgres(ql)?$/ })
		.default('postgres://postgres@127.0.0.1:5432/presence'),
	/** Where to look for a Redis when REDIS_URL is unset. */
	LOCAL_REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
	/** HMAC key for session cookies and visitor tokens (at least 32 characters). */
	SESSION_SECRET: z.string().min(32).default(DEMO_SESSION_SECRET),
	PORT: z.coerce.number().int().min(1).max(65535).default(3000),
	/** Every Redis key and channel starts with this (tests isolate by prefix). */
	REDIS_KEY_PREFIX: z
		.string()
		.regex(/^[A-Za-z0-9:_.-]*$/)
		.default('presence:'),
	/** A Redis command that has not answered by then fails (presence reads then say offline). */
	REDIS_COMMAND_TIMEOUT_MS: ms(1000, 50),
	PRESENCE_GRACE_MS: ms(3000),
	PRESENCE_HEARTBEAT_INTERVAL_MS: ms(25_000, 100),
	PRESENCE_HEARTBEAT_TIMEOUT_MS: ms(60_000, 200),
	PRESENCE_LEASE_TTL_MS: ms(5000, 100),
	PRESENCE_SWEEP_INTERVAL_MS: ms(1000, 10),
	/** A tab without keyboard, pointer or touch input this long reports itself idle. */
	PRESENCE_IDLE_AFTER_MS: ms(600_000, 100),
	/** A typing indicator ends this long after the typist's last `presence.typing` call. */
	TYPING_TTL_MS: ms(6000, 100),
	/** Events a stream may have queued before it is closed (the client resyncs). */
	STREAM_QUEUE_LIMIT: z.coerce.number().int().min(1).default(1000),
	/** Unsent bytes a stream's socket may hold before the hub closes it (the client resyncs). */
	STREAM_BUFFER_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
	/** Open presence streams per person, and per client address, on one node. */
	STREAM_LIMIT_PER_PERSON: z.coerce.number().int().min(1).default(20),
	STREAM_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).default(1000),
	/** Sign-in attempts per client address per minute (a team behind one address shares it). */
	LOGIN_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(20),
	/** Events the hub keeps to replay to a client that reconnects with its last event id. */
	STREAM_REPLAY_EVENTS: z.coerce.number().int().min(0).default(2000),
	/** Serve presence streams through the node's stream hub (`npm run serve`); false = tRPC's own. */
	STREAM_HUB: flag(true),
	/** Where the embedded Postgres keeps its data, and its port. */
	EMBEDDED_PG_DIR: z.string().default('.data/postgres'),
	EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
	/** Runs migrations at start-up. */
	MIGRATE_ON_START: flag(true),
	/** Seeds the demo workspace at start-up (idempotent). */
	SEED_DEMO: flag(false),
	/** Session cookie gets `Secure` (set when served over HTTPS). */
	COOKIE_SECURE: flag(false),
	/** Least severe log level written (pino's names; `silent` writes nothing). */
	LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
	/** `json` (one object per line, for log shippers) or `pretty` (one human line; `npm start`). */
	LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
	/** This node's name in logs and in its lease key; default `<hostname>-<pid>`. */
	NODE_ID: z
		.string()
		.regex(/^[A-Za-z0-9_.-]{1,64}$/)
		.optional(),
	/**
	 * When set, /metrics answers only `Authorization: Bearer <token>` (401 otherwise); unset, it
	 * is open (the demo). At least 16 characters: it guards process and traffic figures.
	 */
	METRICS_TOKEN: z.string().min(16).optional()
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
	constructor(readonly problems: string[]) {
		super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
		this.name = 'ConfigError';
	}
}

/** Parses the environment; empty strings count as unset. Throws `ConfigError` naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
	const cleaned = Object.fromEntries(
		Object.entries(env).filter(([, value]) => value !== undefined && value !== '')
	);
	const parsed = schema.safeParse(cleaned);
	if (!parsed.success) {
		throw new ConfigError(
			parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
		);
	}
	if (parsed.data.PRESENCE_HEARTBEAT_INTERVAL_MS >= parsed.data.PRESENCE_HEARTBEAT_TIMEOUT_MS) {
		throw new ConfigError([
			`PRESENCE_HEARTBEAT_INTERVAL_MS: must be lower than PRESENCE_HEARTBEAT_TIMEOUT_MS (${parsed.data.PRESENCE_HEARTBEAT_TIMEOUT_MS})`
		]);
	}
	return parsed.data;
}
