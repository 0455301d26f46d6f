/**
 * Strings no field of the API accepts: a NUL byte (Postgres `text` cannot hold it) and a lone
 * UTF-16 surrogate (not valid Unicode; Postgres refuses its UTF-8 encoding). Checked over the
 * whole raw input, keys included, so no procedure can forget a field.
 */

export interface BadString {
	/** Where, as `body` or `userIds.3` (`input` for the input itself). */
	path: string;
	reason: string;
}

/** Inputs are bounded by the body limit; this only stops a pathological shape from looping long. */
const MAX_NODES = 200_000;

function reasonOf(value: string): string | null {
	if (value.includes('\u0000')) return 'must not contain NUL bytes';
	if (!value.isWellFormed()) return 'must be valid Unicode (no unpaired surrogates)';
	return null;
}

export function findBadString(input: unknown): BadString | null {
	const stack: [unknown, string][] = [[input, '']];
	for (let seen = 0; stack.length > 0 && seen < MAX_NODES; seen++) {
		const [value, path] = stack.pop()!;
		if (typeof value === 'string') {
			const reason = reasonOf(value);
			if (reason) return { path: path || 'input', reason };
		} else if (value && typeof value === 'object') {
			for (const [key, inner] of Object.entries(value)) {
				const at = path ? `${path}.${key}` : key;
				const reason = reasonOf(key);
				if (reason) return { path: at, reason: `field name ${reason}` };
				stack.push([inner, at]);
			}
		}
	}
	return null;
}
