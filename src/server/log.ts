import { hostname } from 'node:os';
import { inspect } from 'node:util';
import pino, { type DestinationStream, type Level, type LevelWithSilent, type Logger } from 'pino';

/**
 * The node's structured log (pino). Every line carries `node` and, on the Redis backend, the
 * lease `incarnation`: after a stall or a Redis flush the node takes a new incarnation, and the
 * other nodes' "lost its lease" lines name that id, so the two must be greppable together.
 * HTTP lines add `requestId`, stream lines `connectionId` (children of this logger).
 */

export type { Logger };
export type LogFormat = 'json' | 'pretty';

/** Console-shaped: what the engines, the database bootstrap and tests log through. */
export interface ConsoleLogger {
	info(...args: unknown[]): void;
	warn(...args: unknown[]): void;
	error(...args: unknown[]): void;
}

export interface LoggerOptions {
	level: LevelWithSilent;
	format: LogFormat;
	nodeId: string;
	/** Read at each line: the incarnation changes while the process runs. */
	incarnation?: () => string | undefined;
	/** Lines go here instead of stdout: a stream (one JSON line per write), or a console-shaped
	 * logger that gets one formatted line per call at the matching method (tests). */
	destination?: DestinationStream | ConsoleLogger;
}

export function defaultNodeId(): string {
	// Host and pid: unique per machine and meaningful (a pod name, a PID in `ps`), unlike random ids.
	return `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}-${process.pid}`;
}

export function createLogger(options: LoggerOptions): Logger {
	const incarnation = options.incarnation;
	return pino(
		{
			level: options.level,
			base: { node: options.nodeId },
			// Names, not numbers: log shippers and humans both read `"level":"warn"` without a table.
			formatters: { level: (label) => ({ level: label }) },
			timestamp: pino.stdTimeFunctions.isoTime,
			mixin: incarnation ? () => ({ incarnation: incarnation() }) : undefined
		},
		destinationFor(options)
	);
}

function destinationFor(options: LoggerOptions): DestinationStream {
	const target = options.destination;
	if (target && isConsole(target)) {
		return {
			write(line: string) {
				const record = JSON.parse(line) as LogRecord;
				const text = formatRecord(record);
				if (record.level === 'error' || record.level === 'fatal') target.error(text);
				else if (record.level === 'warn') target.warn(text);
				else target.info(text);
			}
		};
	}
	if (options.format === 'pretty') {
		const out = target ?? process.stdout;
		return { write: (line: string) => void out.write(formatRecord(JSON.parse(line)) + '\n') };
	}
	// Synchronous writes: a line logged just before a crash or process.exit still reaches the file.
	return target ?? pino.destination({ dest: 1, sync: true });
}

function isConsole(target: DestinationStream | ConsoleLogger): target is ConsoleLogger {
	return typeof (target as ConsoleLogger).warn === 'function';
}

interface LogRecord {
	level: Level;
	time: string;
	msg?: string;
	node?: string;
	incarnation?: string;
	err?: { message?: string; stack?: string; type?: string };
	[field: string]: unknown;
}

/** `12:03:04.567 WARN  node-1.3fa2b1c0  message key=value`, then an error's stack, indented. */
export function formatRecord(record: LogRecord): string {
	const { level, time, msg, node, incarnation, err, ...fields } = record;
	const clock = typeof time === 'string' ? time.slice(11, 23) : String(time);
	const who = incarnation ?? node ?? '';
	const extra = Object.entries(fields)
		.filter(([key]) => key !== 'pid' && key !== 'hostname')
		.map(([key, value]) => `${key}=${formatValue(value)}`);
	const head = [clock, level.toUpperCase().padEnd(5), who, msg ?? '', ...extra]
		.filter(Boolean)
		.join(' ');
	if (!err) return head;
	const stack = err.stack ?? err.message ?? '';
	return `${head}\n    ${stack.replace(/\n/g, '\n    ')}`;
}

function formatValue(value: unknown): string {
	if (typeof value === 'string') return /[\s="]/.test(value) ? JSON.stringify(value) : value;
	return JSON.stringify(value);
}

/**
 * A console-shaped view of `logger` for code written against `console` (the presence engines,
 * the database bootstrap): arguments are joined into the message as console would print them,
 * and the first Error becomes the `err` field (message, type and stack, structured).
 */
export function consoleLike(logger: Logger): ConsoleLogger & { debug(...args: unknown[]): void } {
	const at =
		(level: 'debug' | 'info' | 'warn' | 'error') =>
		(...args: unknown[]) => {
			if (!logger.isLevelEnabled(level)) return;
			let err: Error | undefined;
			const parts: string[] = [];
			for (const arg of args) {
				if (arg instanceof Error && !err) err = arg;
				else parts.push(typeof arg === 'string' ? arg : inspect(arg, { breakLength: Infinity }));
			}
			// "[x] failed:" + error reads "failed: <message>" on one line once err is its own field.
			const msg = parts.join(' ').replace(/:$/, '');
			if (err) logger[level]({ err }, msg);
			else logger[level](msg);
		};
	return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
