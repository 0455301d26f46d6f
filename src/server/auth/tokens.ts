import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Signed credentials: the agent session cookie and the visitor token share one format,
 * `base64url(json).base64url(hmac-sha256)`. The `kind` field keeps one from passing for the other.
 */

const claimsSchema = z.object({
	kind: z.enum(['agent', 'visitor']),
	sub: z.string().uuid(),
	ws: z.string().uuid(),
	/** Agent sessions: the server-side session (table `sessions`) that logout revokes. */
	sid: z.string().uuid().optional(),
	/** Expiry, epoch seconds. */
	exp: z.number().int()
});

export type Claims = z.infer<typeof claimsSchema>;
export type CredentialKind = Claims['kind'];

export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
export const VISITOR_TTL_SECONDS = 90 * 24 * 3600;

function sign(body: string, secret: string): Buffer {
	return createHmac('sha256', secret).update(body).digest();
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
	const claims = claimsSchema.safeParse(json);
	if (!claims.success || claims.data.kind !== kind) return null;
	if (claims.data.exp * 1000 <= now) return null;
	return claims.data;
}
