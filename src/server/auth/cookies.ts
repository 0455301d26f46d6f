/** The agent session cookie: HttpOnly, SameSite=Lax, signed (see tokens.ts). */

import { SESSION_COOKIE } from '../../lib/contract';

export { SESSION_COOKIE };

export function serializeSessionCookie(
	token: string | null,
	options: { maxAgeSeconds: number; secure: boolean }
): string {
	const parts = [
		`${SESSION_COOKIE}=${token ?? ''}`,
		'Path=/',
		'HttpOnly',
		'SameSite=Lax',
		`Max-Age=${token ? options.maxAgeSeconds : 0}`
	];
	if (options.secure) parts.push('Secure');
	return parts.join('; ');
}

export function readCookie(header: string | null | undefined, name: string): string | null {
	if (!header) return null;
	for (const part of header.split(';')) {
		const eq = part.indexOf('=');
		if (eq > 0 && part.slice(0, eq).trim() === name) {
			// A malformed escape (`%E0%A4%A`) is no credential, like any other bad cookie: the
			// caller is anonymous (401 where a session is needed), not a 500 on every request.
			try {
				return decodeURIComponent(part.slice(eq + 1).trim()) || null;
			} catch {
				return null;
			}
		}
	}
	return null;
}
