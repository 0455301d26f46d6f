import type { PresenceState } from '../types';

/** Someone the engine knows nothing live about: offline, never seen, version 0. */
export function offlineState(userId: string): PresenceState {
	return {
		userId,
		isOnline: false,
		focusConversationId: null,
		currentPage: null,
		lastSeenAt: null,
		version: 0
	};
}
