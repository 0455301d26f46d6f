import { expect, test, type Page } from './fixtures';
import { LIVE, signIn } from './people';
import { beginConversation } from './visitor';

/** What the page sees when its tab is hidden or shown again (Playwright keeps pages visible). */
async function setVisibility(page: Page, state: 'hidden' | 'visible') {
	await page.evaluate((value) => {
		Object.defineProperty(document, 'visibilityState', { value, configurable: true });
		Object.defineProperty(document, 'hidden', { value: value === 'hidden', configurable: true });
		document.dispatchEvent(new Event('visibilitychange'));
	}, state);
}

/** Everything the page's Content-Security-Policy blocked (Chromium logs each one). */
function cspViolations(page: Page): string[] {
	const seen: string[] = [];
	page.on('console', (message) => {
		if (/Content Security Policy/i.test(message.text())) seen.push(message.text());
	});
	return seen;
}

test('an agent sees a visitor live: presence, page, messages, and going offline', async ({
	browser
}) => {
	const agentContext = await browser.newContext();
	const visitorContext = await browser.newContext();
	try {
		const agent = await agentContext.newPage();
		const blocked = cspViolations(agent);
		await signIn(agent);

		// A visitor arrives on the shop: the widget starts a session and opens its stream.
		const visitor = await visitorContext.newPage();
		const blockedOnShop = cspViolations(visitor);
		await visitor.goto('/demo');
		const widget = visitor.getByTestId('chat-widget');
		await expect(widget).toHaveAttribute('data-connected', 'true', LIVE);
		// The visitor begins a conversation (as their first message would): without a reload,
		// the agent's list gets it with a live (yellow) dot.
		const conversationId = await beginConversation(visitor, widget);
		const item = agent.locator(
			`[data-testid="conversation-item"][data-conversation-id="${conversationId}"]`
		);
		await expect(item).toHaveAttribute('data-status', 'active', LIVE);

		// Opening the chat is "chatting with the agents": green.
		await visitor.getByTestId('chat-launcher').click();
		await expect(visitor.getByTestId('chat-panel')).toBeVisible();
		await expect(item).toHaveAttribute('data-status', 'online', LIVE);

		await item.click();
		await expect(agent).toHaveURL(new RegExp(`/inbox/${conversationId}$`));
		const panel = agent.getByTestId('visitor-panel');
		await expect(panel).toHaveAttribute('data-status', 'online', LIVE);
		await expect(agent.getByTestId('visitor-presence')).toHaveText('Online');
		await expect(agent.getByTestId('visitor-page')).toHaveText('Viewing Kettle & Co. · Home', LIVE);

		// The visitor moves to a product page: the panel follows.
		await visitor.getByRole('link', { name: /Blue Kettle/ }).click();
		await expect(visitor).toHaveTitle('Blue Kettle · Kettle & Co.');
		await expect(agent.getByTestId('visitor-page')).toHaveText(
			'Viewing Blue Kettle · Kettle & Co.',
			LIVE
		);

		// A small picture of the visitor's page reaches the agent.
		await expect(agent.getByTestId('visitor-preview')).toBeVisible({ timeout: 20_000 });

		// The visitor writes; the agent sees it live.
		const visitorBox = visitor.getByLabel('Your message');
		await visitorBox.fill('Is the blue kettle in stock?');
		await visitorBox.press('Enter');
		await expect(agent.getByTestId('messages')).toContainText('Is the blue kettle in stock?', LIVE);
		// The agent had the conversation open: it is read at once, and the visitor sees so.
		await expect(visitor.getByTestId('widget-receipt').last()).toHaveAttribute(
			'data-receipt',
			'read',
			LIVE
		);

		// The agent replies; the widget shows it, and the agent as chatting with the visitor.
		await agent.getByLabel('Reply').fill('Yes, it ships tomorrow.');
		await agent.getByRole('button', { name: 'Send' }).click();
		// The team's side of the conversation, with its author (issue 12).
		const reply = agent.getByTestId('message').filter({ hasText: 'Yes, it ships tomorrow.' });
		await expect(reply).toHaveAttribute('data-side', 'team');
		await expect(reply.getByTestId('message-author')).toHaveText('You');
		await expect(visitor.getByTestId('widget-messages')).toContainText(
			'Yes, it ships tomorrow.',
			LIVE
		);
		await expect(visitor.getByTestId('widget-agent').filter({ hasText: 'Ada' })).toHaveAttribute(
			'data-status',
			'online',
			LIVE
		);

		// The visitor's tab goes to the background: no longer chatting (yellow); back: green again.
		await setVisibility(visitor, 'hidden');
		await expect(item).toHaveAttribute('data-status', 'active', LIVE);
		await expect(panel).toHaveAttribute('data-status', 'active');
		await expect(agent.getByTestId('visitor-presence')).toHaveText('Active');
		await setVisibility(visitor, 'visible');
		await expect(item).toHaveAttribute('data-status', 'online', LIVE);

		// Under the CSP nothing was blocked: the widget, its page preview (modern-screenshot) and
		// the inbox showing it all work.
		expect(blockedOnShop).toEqual([]);
		expect(blocked).toEqual([]);

		// The visitor leaves: gray, "Offline · Last seen …", page and preview hidden.
		await visitor.close();
		await expect(panel).toHaveAttribute('data-status', 'offline', LIVE);
		await expect(agent.getByTestId('visitor-presence')).toHaveText(/Offline · Last seen \S/);
		await expect(agent.getByTestId('visitor-page')).toHaveCount(0);
		await expect(agent.getByTestId('visitor-preview')).toHaveCount(0);
		await expect(item).toHaveAttribute('data-status', 'offline');

		// A reload shows the same state.
		await agent.reload();
		await expect(agent.getByTestId('visitor-panel')).toHaveAttribute('data-status', 'offline');
		await expect(agent.getByTestId('visitor-presence')).toHaveText(/Offline · Last seen \S/);
		await expect(agent.getByTestId('messages')).toContainText('Yes, it ships tomorrow.');
	} finally {
		await visitorContext.close();
		await agentContext.close();
	}
});

test('a visitor keeps their conversation across reloads and navigation', async ({ page }) => {
	await page.goto('/demo');
	const widget = page.getByTestId('chat-widget');
	await expect(widget).toHaveAttribute('data-connected', 'true', LIVE);
	// No conversation until the visitor writes; their first message begins it.
	await expect(widget).not.toHaveAttribute('data-conversation-id', /.+/);

	await page.getByTestId('chat-launcher').click();
	const box = page.getByLabel('Your message');
	await box.fill('Hello from the cart page soon');
	await box.press('Enter');
	await expect(page.getByTestId('widget-messages')).toContainText('Hello from the cart page soon');
	await expect(widget).toHaveAttribute('data-conversation-id', /.+/);
	const conversationId = await widget.getAttribute('data-conversation-id');

	// A full page load in the same tab: the chat comes back as it was left, open.
	await page.goto('/demo/cart');
	await expect(widget).toHaveAttribute('data-connected', 'true', LIVE);
	await expect(widget).toHaveAttribute('data-conversation-id', conversationId!);
	await expect(page.getByTestId('chat-panel')).toBeVisible();
	await expect(page.getByTestId('widget-messages')).toContainText('Hello from the cart page soon');

	// Closed, it stays closed across the next page load.
	await page.getByTestId('chat-launcher').click();
	await expect(page.getByTestId('chat-panel')).toHaveCount(0);
	await page.reload();
	await expect(widget).toHaveAttribute('data-connected', 'true', LIVE);
	await expect(page.getByTestId('chat-panel')).toHaveCount(0);
});
