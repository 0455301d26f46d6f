import { describe, expect, it } from 'vitest';
import { findBadString } from './input-strings';

describe('findBadString', () => {
	it('names the field holding a NUL byte or a lone surrogate, at any depth', () => {
		expect(findBadString({ body: 'hi\u0000there' })).toEqual({
			path: 'body',
			reason: 'must not contain NUL bytes'
		});
		expect(findBadString({ page: { title: 'x\ud800' } })?.path).toBe('page.title');
		expect(findBadString({ userIds: ['a', 'b\udfff'] })?.path).toBe('userIds.1');
		expect(findBadString('\u0000')?.path).toBe('input');
		expect(findBadString({ ['k\u0000']: 1 })?.reason).toMatch(/field name/);
	});

	it('accepts ordinary text, emoji (paired surrogates) and non-strings', () => {
		expect(findBadString({ body: 'Grüße 👋 日本', n: 1, ok: true, none: null })).toBeNull();
		expect(findBadString(undefined)).toBeNull();
	});
});
