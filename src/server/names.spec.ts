import { describe, expect, it } from 'vitest';
import { distinctVisitorNames, seededRandom, visitorName } from './names';

describe('visitor names', () => {
	it('are adjective + animal, the same for the same seed, different within one draw', () => {
		const a = distinctVisitorNames(300, seededRandom(12));
		expect(a).toEqual(distinctVisitorNames(300, seededRandom(12)));
		expect(new Set(a).size).toBe(300);
		expect(a[0]).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
		expect(visitorName()).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
	});
});
