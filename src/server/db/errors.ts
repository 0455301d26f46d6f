/**
 * Postgres being away (restarted, failed over, a pooler dropping idle connections) as opposed to
 * a bug: the first is a 503 the client may retry, the second an internal error.
 */

/** Node socket errors and pg's own messages when the server went away or cannot be reached. */
const NETWORK_CODES = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'ETIMEDOUT',
	'EPIPE',
	'ENOTFOUND',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'EAI_AGAIN'
]);

/**
 * SQLSTATE classes 08 (connection exception) and 57P (operator intervention: admin or crash
 * shutdown, cannot connect now), plus 53300 (too many connections).
 */
function isUnavailableSqlState(code: string): boolean {
	return code.startsWith('08') || code.startsWith('57P') || code === '53300';
}

const PG_MESSAGES = [
	'Connection terminated',
	'timeout exceeded when trying to connect',
	'is not queryable',
	'Connection ended unexpectedly'
];

export function isDatabaseUnavailable(error: unknown): boolean {
	for (let e = error, depth = 0; e && depth < 5; depth++) {
		if (typeof e !== 'object') return false;
		const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
		if (typeof code === 'string' && (NETWORK_CODES.has(code) || isUnavailableSqlState(code))) {
			return true;
		}
		if (typeof message === 'string' && PG_MESSAGES.some((m) => message.includes(m))) return true;
		// AggregateError (a connect to every address of a host failed) names its parts in `errors`.
		const errors = (e as { errors?: unknown }).errors;
		if (Array.isArray(errors) && errors.some((inner) => isDatabaseUnavailable(inner))) return true;
		e = cause;
	}
	return false;
}
