import { describe, expect, it } from 'vitest';
import { issueToken, verifyToken } from './tokens';

const secret = 'unit-secret-unit-secret-unit-secret-0000';
const claims = {
	kind: 'visitor' as const,
	sub: '11111111-1111-4111-8111-111111111111',
	ws: '22222222-2222-4222-8222-222222222222'
};

describe('signed tokens', () => {
	it('verifies a genuine token', () => {
		const token = issueToken(claims, secret, 60);
		expect(verifyToken(token, 'visitor', secret)).toMatchObject(claims);
	});

	it('refuses a token whose body was changed (someone else’s id)', () => {
		const token = issueToken(claims, secret, 60);
		const [, signature] = token.split('.');
		const forged = Buffer.from(
			JSON.stringify({ ...claims, sub: '33333333-3333-4333-8333-333333333333', exp: 9e9 })
		).toString('base64url');
		expect(verifyToken(`${forged}.${signature}`, 'visitor', secret)).toBeNull();
	});

	it('refuses a flipped signature, another secret, garbage and an expired token', () => {
		const token = issueToken(claims, secret, 60);
		const flipped = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
		expect(verifyToken(flipped, 'visitor', secret)).toBeNull();
		expect(verifyToken(token, 'visitor', `${secret}-other`)).toBeNull();
		expect(verifyToken('not-a-token', 'visitor', secret)).toBeNull();
		expect(verifyToken(`${token}.extra`, 'visitor', secret)).toBeNull();
		const old = issueToken(claims, secret, 60, Date.now() - 120_000);
		expect(verifyToken(old, 'visitor', secret)).toBeNull();
	});

	it('does not let a visitor token pass as an agent session', () => {
		const token = issueToken(claims, secret, 60);
		expect(verifyToken(token, 'agent', secret)).toBeNull();
	});

	it('refuses a genuinely signed token whose claims are malformed', () => {
		const signed = (claims: Record<string, unknown>, ttl = 60) =>
			verifyToken(issueToken(claims as never, secret, ttl), 'visitor', secret);
		expect(signed({ ...claims, sub: 'not-a-uuid' })).toBeNull();
		expect(signed({ ...claims, ws: 42 })).toBeNull();
		expect(signed({ ...claims, sid: 'nope' })).toBeNull();
		expect(signed({ ...claims, kind: 'admin' })).toBeNull();
		expect(signed(claims, 60.5)).toBeNull();
		const sid = '44444444-4444-4444-8444-444444444444';
		expect(signed({ ...claims, sid })).toEqual({ ...claims, sid, exp: expect.any(Number) });
	});
});
