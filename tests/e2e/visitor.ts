import { expect, type Locator, type Page } from '@playwright/test';

/**
 * Loading the shop makes no conversation: it begins with the visitor's first message (issue 12).
 * Specs about what happens in a conversation before the visitor writes begin it the way the
 * widget does just before that first message (`widget.startConversation`), with no message, and
 * wait for the widget to learn of it from its stream.
 */
/** Where the widget keeps its token (`VISITOR_TOKEN_KEY` in src/lib/widget/visitor-session.ts). */
const VISITOR_TOKEN_KEY = 'presence.visitorToken';

export async function beginConversation(page: Page, widget: Locator): Promise<string> {
	const status = await page.evaluate(async (key) => {
		const response = await fetch('/api/trpc/widget.startConversation', {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'x-visitor-token': localStorage.getItem(key) ?? ''
			}
		});
		return response.status;
	}, VISITOR_TOKEN_KEY);
	expect(status).toBe(200);
	await expect(widget).toHaveAttribute('data-conversation-id', /.+/, { timeout: 15_000 });
	return (await widget.getAttribute('data-conversation-id'))!;
}
