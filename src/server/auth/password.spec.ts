import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password';

describe('password hashes', () => {
	it('accepts the right password and refuses a wrong one', async () => {
		const stored = await hashPassword('correct horse');
		expect(stored).toMatch(/^scrypt\$/);
		expect(await verifyPassword('correct horse', stored)).toBe(true);
		expect(await verifyPassword('correct horsE', stored)).toBe(false);
	});

	it('salts: the same password hashes differently', async () => {
		expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
	});

	it('refuses a malformed stored hash instead of throwing', async () => {
		expect(await verifyPassword('x', 'md5$abc')).toBe(false);
	});
});
