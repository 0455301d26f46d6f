import type { PresenceClient } from '../client';
import { codeOf } from '../presence/error-code';
import { createVisitorClient } from './visitor-client';

export const VISITOR_TOKEN_KEY = 'presence.visitorToken';

export interface VisitorSession {
	visitorToken: string;
	visitorId: string;
	/** Null until the visitor writes (or an agent starts a conversation with them). */
	conversationId: string | null;
	displayName: string;
}

/** Storage for the visitor token (localStorage in the browser; swappable in tests). */
export interface TokenStorage {
	get(): string | null;
	set(token: string): void;
	clear(): void;
}

export const localTokenStorage: TokenStorage = {
	get: () => localStorage.getItem(VISITOR_TOKEN_KEY),
	set: (token) => localStorage.setItem(VISITOR_TOKEN_KEY, token),
	clear: () => localStorage.removeItem(VISITOR_TOKEN_KEY)
};

/**
 * `widget.session`: resumes the stored visitor, or starts a new one when there is none or the
 * stored token is refused (UNAUTHORIZED: expired, tampered, another workspace).
 */
export async function startVisitorSession(
	workspaceKey: string,
	storage: TokenStorage,
	publicClient: PresenceClient = createVisitorClient(null)
): Promise<VisitorSession> {
	const stored = storage.get();
	let session: VisitorSession;
	try {
		session = await publicClient.widget.session.mutate({
			workspaceKey,
			visitorToken: stored ?? undefined
		});
	} catch (error) {
		if (!stored || codeOf(error) !== 'UNAUTHORIZED') throw error;
		storage.clear();
		session = await publicClient.widget.session.mutate({ workspaceKey });
	}
	storage.set(session.visitorToken);
	return session;
}
