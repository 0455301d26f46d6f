import { describe, expect, it } from 'vitest';
import type { PresenceChange } from '../../../src/server/presence';
import { engineHarness, type MakeEngine } from './engine-under-test';
import { uniqueId } from './helpers';

/**
 * An agent's availability (issue 13) on every backend: the engine keeps a copy with the
 * person's presence so it travels as a versioned change, kept across going offline.
 */
export function describeAvailabilityContract(name: string, makeEngine: MakeEngine) {
	describe(`availability contract: ${name}`, () => {
		const harness = engineHarness(makeEngine);
		const { waitFor } = harness;

		it('a change emits once with a newer version, is carried by later changes and kept offline', async () => {
			const { engine } = await harness.start({ graceMs: 0 });
			const ws = uniqueId('ws');
			const events: PresenceChange[] = [];
			await engine.listen(ws, (c) => events.push(c), harness.signal());

			const { connectionId } = await engine.connect({ workspaceId: ws, userId: 'a1' });
			await waitFor(() => events.length === 1, 'online');
			const online = events[0]!;
			expect(online.availability).toBeUndefined();

			const busy = await engine.setAvailability(ws, 'a1', 'busy');
			expect(busy).toMatchObject({ userId: 'a1', isOnline: true, availability: 'busy' });
			expect(busy!.version).toBeGreaterThan(online.version);
			await waitFor(() => events.length === 2, 'the change');
			expect(await engine.setAvailability(ws, 'a1', 'busy')).toBeNull();

			await engine.focus(connectionId, 'cv1');
			await waitFor(() => events.length === 3, 'the focus');
			expect(events[2]).toMatchObject({ focusConversationId: 'cv1', availability: 'busy' });

			await engine.disconnect(connectionId);
			await waitFor(() => events.length === 4, 'offline');
			expect(events[3]).toMatchObject({ isOnline: false, availability: 'busy' });
			const read = await engine.read(ws, ['a1']);
			expect(read.get('a1')).toMatchObject({ isOnline: false, availability: 'busy' });
			expect(events).toHaveLength(4);
		});
	});
}
