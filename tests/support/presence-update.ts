import type { PresenceUpdate } from '../../src/lib/contract';

/** A person's presence as the stream sends it: online and active at version 1, unless patched. */
export function presenceUpdate(
	userId: string,
	patch: Partial<PresenceUpdate> = {}
): PresenceUpdate {
	return {
		userId,
		isOnline: true,
		status: 'active',
		focusConversationId: null,
		lastSeenAt: '2024-05-01T10:00:00.000Z',
		currentPage: null,
		version: 1,
		...patch
	};
}
