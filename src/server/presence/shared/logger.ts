/** What the engines log through (console fits). */
export interface PresenceLogger {
	info(...args: unknown[]): void;
	warn(...args: unknown[]): void;
	error(...args: unknown[]): void;
}

/**
 * While Redis is down every timer tick fails the same way; logging each would flood the log.
 * One line per `key` per `everyMs`, with a count of the ones held back.
 */
export class ThrottledLog {
	#logger: PresenceLogger;
	#everyMs: number;
	#last = new Map<string, { at: number; suppressed: number }>();
	/** Every warning, logged or held back (the engines' failures: metrics). */
	count = 0;
	/** The same, by key (the failing operation: lease, sweep, read, last-seen, …). */
	readonly byKey = new Map<string, number>();

	constructor(logger: PresenceLogger, everyMs = 10_000) {
		this.#logger = logger;
		this.#everyMs = everyMs;
	}

	warn(key: string, message: string, error?: unknown): void {
		this.count++;
		this.byKey.set(key, (this.byKey.get(key) ?? 0) + 1);
		const now = Date.now();
		const seen = this.#last.get(key);
		if (seen && now - seen.at < this.#everyMs) {
			seen.suppressed++;
			return;
		}
		const more = seen?.suppressed ? ` (${seen.suppressed} similar since last report)` : '';
		this.#last.set(key, { at: now, suppressed: 0 });
		this.#logger.warn(`[presence] ${message}${more}${error ? `: ${describe(error)}` : ''}`);
	}
}

export function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

export const silentLogger: PresenceLogger = { info() {}, warn() {}, error() {} };
