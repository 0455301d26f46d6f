import { describe, expect, it } from 'vitest';
import { newConnectionId, workspaceOfConnection } from './ids';

describe('connection ids', () => {
	it('carry their workspace and are all different, across refills of the random pool', () => {
		const ids = Array.from({ length: 1000 }, () => newConnectionId('ws-1'));
		expect(new Set(ids).size).toBe(ids.length);
		for (const id of ids) {
			expect(workspaceOfConnection(id)).toBe('ws-1');
			expect(id).toMatch(/^ws-1~[A-Za-z0-9_-]{16}$/);
		}
	});

	it('refuse a workspace id that would change the hash slot, and read malformed ids as unknown', () => {
		expect(() => newConnectionId('a{b}')).toThrow(/Invalid workspace id/);
		expect(workspaceOfConnection('no-separator')).toBeNull();
		expect(workspaceOfConnection('ws~short')).toBeNull();
	});
});
