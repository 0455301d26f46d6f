const CHAT_OPEN_KEY = 'presence.chatOpen';

/**
 * Whether the chat panel is open, kept per tab (sessionStorage): a page load in the same tab
 * (a reload, a link to a page outside the SPA) shows the chat as the visitor left it, as common
 * chat widgets do; a new tab starts closed. Storage may be unavailable (privacy modes): closed.
 */
export const chatOpenStorage = {
	get(): boolean {
		try {
			return sessionStorage.getItem(CHAT_OPEN_KEY) === 'open';
		} catch {
			return false;
		}
	},
	set(open: boolean) {
		try {
			if (open) sessionStorage.setItem(CHAT_OPEN_KEY, 'open');
			else sessionStorage.removeItem(CHAT_OPEN_KEY);
		} catch {
			// Not kept: the next page load starts closed, and reports so.
		}
	}
};
