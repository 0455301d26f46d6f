import { describe, expect, it } from 'vitest';
import { presenceUpdate as update } from '../../../tests/support/presence-update';
import { PresenceStore } from './presence-store.svelte';

describe('PresenceStore', () => {
	it('answers unknown for a person it was never told about', () => {
		const store = new PresenceStore();
		expect(store.status('nobody')).toBe('unknown');
		expect(store.get('nobody')).toBeUndefined();
		store.applySnapshot([update('ada')]);
		expect(store.status('nobody')).toBe('unknown');
	});

	it('takes a snapshot, then newer deltas', () => {
		const store = new PresenceStore();
		store.applySnapshot([
			update('ada', { status: 'online', version: 3 }),
			update('bob', { isOnline: false, status: 'offline', version: 7 })
		]);
		expect(store.synced).toBe(true);
		expect(store.status('ada')).toBe('online');
		expect(store.status('bob')).toBe('offline');

		expect(store.apply({ ...update('bob', { status: 'active', version: 8 }) })).toBe(true);
		expect(store.status('bob')).toBe('active');
		expect(store.get('bob')?.isOnline).toBe(true);
	});

	it('drops a delta whose version is not newer than the one held', () => {
		const store = new PresenceStore();
		store.applySnapshot([update('ada', { status: 'online', version: 5 })]);
		expect(store.apply(update('ada', { isOnline: false, status: 'offline', version: 4 }))).toBe(
			false
		);
		expect(store.apply(update('ada', { isOnline: false, status: 'offline', version: 5 }))).toBe(
			false
		);
		expect(store.status('ada')).toBe('online');
	});

	it('replaces everything with a new snapshot (people no longer visible are forgotten)', () => {
		const store = new PresenceStore();
		store.applySnapshot([update('ada', { version: 9 }), update('bob')]);
		// Same version, another status (the viewer joined a conversation): the snapshot wins.
		store.applySnapshot([update('ada', { status: 'online', version: 9 })]);
		expect(store.status('ada')).toBe('online');
		expect(store.status('bob')).toBe('unknown');
	});

	it('does not step back to an older snapshot entry (Redis just lost its data: version 0)', () => {
		const store = new PresenceStore();
		store.applySnapshot([update('ada', { status: 'online', version: 9 })]);
		store.applySnapshot([update('ada', { status: 'offline', isOnline: false, version: 0 })]);
		expect(store.status('ada')).toBe('online');
		// The truth then arrives as a newer delta.
		store.apply(update('ada', { status: 'offline', isOnline: false, version: 10 }));
		expect(store.status('ada')).toBe('offline');
	});

	it('prefers the newer of held and loaded data', () => {
		const store = new PresenceStore();
		const loaded = update('ada', { status: 'offline', isOnline: false, version: 4 });
		expect(store.view('ada', loaded)?.status).toBe('offline');
		store.apply(update('ada', { status: 'online', version: 5 }));
		expect(store.view('ada', loaded)?.status).toBe('online');
		expect(store.view('ada', { ...loaded, version: 6 })?.status).toBe('offline');
		expect(store.view('nobody')).toBeNull();
	});

	it('keeps an agent’s last known availability when a change comes without it', () => {
		const store = new PresenceStore();
		store.applySnapshot([update('ada', { availability: 'busy', version: 1 })]);
		store.apply(update('ada', { availability: null, version: 2 }));
		expect(store.get('ada')?.availability).toBe('busy');
		store.apply(update('ada', { availability: 'away', version: 3 }));
		expect(store.get('ada')?.availability).toBe('away');
	});
});
