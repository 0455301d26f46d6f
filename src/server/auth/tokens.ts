import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Signed credentials: the agent session cookie and the visitor token share one format,
 * `base64url(json).base64url(hmac-sha256)`. The `kind` field keeps one from passing for the other.
 */

export interface Claims {
	kind: 'agent' | 'visitor';
	/** The person. */
	sub: string;
	/** Their workspace. */
	ws: string;
	/** Agent sessions: the server-side session (table `sessions`) that logout revokes. */
	sid?: string;
	/** Expiry, epoch seconds. */
	exp: number;
}
export type CredentialKind = Claims['kind'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/**
 * The claims a signed body carries, or null. Checked by hand rather than with a schema: every
 * stream open and call verifies a token, and a visitor coming online waits for it.
 */
function claimsOf(json: unknown): Claims | null {
	if (typeof json !== 'object' || json === null) return null;
	const { kind, sub, ws, sid, exp } = json as Record<string, unknown>;
	if (kind !== 'agent' && kind !== 'visitor') return null;
	if (!isUuid(sub) || !isUuid(ws) || (sid !== undefined && !isUuid(sid))) return null;
	if (typeof exp !== 'number' || !Number.isInteger(exp)) return null;
	return sid === undefined ? { kind, sub, ws, exp } : { kind, sub, ws, sid, exp };
}

export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
export const VISITOR_TTL_SECONDS = 90 * 24 * 3600;

/** The secret as a key object, made once: every stream open and call verifies a token. */
const keys = new Map<string, KeyObject>();

function sign(body: string, secret: string): Buffer {
	let key = keys.get(secret);
	if (!key) {
		if (keys.size > 16) keys.clear();
		keys.set(secret, (key = createSecretKey(Buffer.from(secret))));
	}
	return createHmac('sha256', key).update(body).digest();
}

export function issueToken(
	claims: Omit<Claims, 'exp'>,
	secret: string,
	ttlSeconds: number,
	now = Date.now()
): string {
	const body = Buffer.from(
		JSON.stringify({ ...claims, exp: Math.floor(now / 1000) + ttlSeconds })
	).toString('base64url');
	return `${body}.${sign(body, secret).toString('base64url')}`;
}

/** The claims of a genuine, unexpired token of `kind`; null for anything else. */
export function verifyToken(
	token: string,
	kind: CredentialKind,
	secret: string,
	now = Date.now()
): Claims | null {
	if (token.length > 4096) return null;
	const [body, signature, extra] = token.split('.');
	if (!body || !signature || extra !== undefined) return null;
	const expected = sign(body, secret);
	const actual = Buffer.from(signature, 'base64url');
	if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return null;
	let json: unknown;
	try {
		json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
	} catch {
		return null;
	}
	const claims = claimsOf(json);
	if (claims === null || claims.kind !== kind) return null;
	if (claims.exp * 1000 <= now) return null;
	return claims;
}
