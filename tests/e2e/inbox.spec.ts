import { expect, test, type Page } from './fixtures';
import { LIVE, signIn, browse } from './people';

/**
 * Issue 12: visitors online now (before and without a conversation), search, filters and paging
 * of the conversation list, in the built app on the demo seed (224 conversations).
 */

async function write(page: Page, body: string) {
	await page.getByTestId('chat-launcher').click();
	const box = page.getByLabel('Your message');
	await box.fill(body);
	await box.press('Enter');
	await expect(page.getByTestId('widget-messages')).toContainText(body);
}

const itemOf = (agent: Page, visitorId: string) =>
	agent.locator(`[data-testid="conversation-item"][data-visitor-id="${visitorId}"]`);

test('a browsing visitor is in "Visitors online now" with their page; no conversation until they write', async ({
	browser
}) => {
	const agentContext = await browser.newContext();
	const agent = await agentContext.newPage();
	const visitor = await browse(browser);
	try {
		await signIn(agent);
		await agent.getByTestId('visitors-link').click();
		await expect(agent).toHaveURL(/\/inbox\/visitors$/);
		const row = agent.locator(
			`[data-testid="online-visitor"][data-visitor-id="${visitor.visitorId}"]`
		);
		await expect(row).toBeVisible(LIVE);
		await expect(row.getByTestId('visitor-page')).toHaveText('Kettle & Co. · Home', LIVE);
		await expect(row.getByTestId('on-site')).toHaveText(/on site (<1|\d+) min/);
		await expect(row).toHaveAttribute('data-status', 'active');
		await expect(itemOf(agent, visitor.visitorId)).toHaveCount(0);
		await expect(visitor.widget).not.toHaveAttribute('data-conversation-id', /.+/);

		await expect(row.getByTestId('pages-seen')).toHaveText('1 page');

		// Live: the visitor moves to a product page.
		await visitor.page.getByTestId('product-link').first().click();
		await expect(row.getByTestId('visitor-page')).toHaveText(/· Kettle & Co\.$/, LIVE);
		await expect(row.getByTestId('pages-seen')).toHaveText('2 pages');
		await expect(itemOf(agent, visitor.visitorId)).toHaveCount(0);

		// Their first message begins the conversation; the agent's list gets it without a reload.
		await write(visitor.page, 'Hello, is anyone there?');
		await expect(visitor.widget).toHaveAttribute('data-conversation-id', /.+/, LIVE);
		await expect(itemOf(agent, visitor.visitorId)).toHaveCount(1, LIVE);
		await expect(row.getByRole('link', { name: 'Open conversation' })).toBeVisible(LIVE);

		// Gone from the list when they leave (after the grace).
		await visitor.context.close();
		await expect(row).toHaveCount(0, LIVE);
	} finally {
		await visitor.context.close().catch(() => {});
		await agentContext.close();
	}
});

test('an agent starts a conversation with a browsing visitor from the list', async ({
	browser
}) => {
	const agentContext = await browser.newContext();
	const agent = await agentContext.newPage();
	const visitor = await browse(browser);
	try {
		await signIn(agent);
		await agent.goto('/inbox/visitors');
		const row = agent.locator(
			`[data-testid="online-visitor"][data-visitor-id="${visitor.visitorId}"]`
		);
		await row.getByTestId('start-conversation').click();
		await expect(agent).toHaveURL(/\/inbox\/[0-9a-f-]{36}$/, LIVE);
		const conversationId = agent.url().split('/').at(-1)!;
		// The visitor's widget learns of it from its stream.
		await expect(visitor.widget).toHaveAttribute('data-conversation-id', conversationId, LIVE);
		await expect(itemOf(agent, visitor.visitorId)).toHaveCount(1, LIVE);
	} finally {
		await visitor.context.close();
		await agentContext.close();
	}
});

test('search finds a conversation by a word of a message; the list pages with "Load more"', async ({
	browser
}) => {
	const agentContext = await browser.newContext();
	const agent = await agentContext.newPage();
	const visitor = await browse(browser);
	try {
		await write(visitor.page, 'Do you sell periwinkle teapots?');
		await signIn(agent);
		const items = agent.getByTestId('conversation-item');
		await expect(items).toHaveCount(50); // the first page of the seeded 224
		await agent.getByTestId('load-more').click();
		await expect(items).toHaveCount(100, LIVE);

		await agent.getByTestId('conversation-search').fill('Periwinkle');
		await expect(items).toHaveCount(1, LIVE);
		await expect(itemOf(agent, visitor.visitorId)).toHaveCount(1);
		// A seeded line is found too, and a word that is nowhere finds nothing.
		await agent.getByTestId('conversation-search').fill('grinder');
		await expect(items.first()).toBeVisible(LIVE);
		await expect(itemOf(agent, visitor.visitorId)).toHaveCount(0);
		await agent.getByTestId('conversation-search').fill('xylophone');
		await expect(items).toHaveCount(0, LIVE);
	} finally {
		await visitor.context.close();
		await agentContext.close();
	}
});

test('the "online now" filter follows presence live', async ({ browser }) => {
	const agentContext = await browser.newContext();
	const agent = await agentContext.newPage();
	const visitor = await browse(browser);
	try {
		await write(visitor.page, 'Checking the online filter');
		await signIn(agent);
		await agent.getByTestId('conversation-filter').selectOption('online');
		const item = itemOf(agent, visitor.visitorId);
		await expect(item).toHaveCount(1, LIVE);
		// Seeded visitors are offline: only who is online now is listed.
		for (const status of await agent
			.getByTestId('conversation-item')
			.evaluateAll((els) => els.map((el) => el.getAttribute('data-status'))))
			expect(status).not.toBe('offline');

		// They leave: gone after the grace. They come back (same browser, same token): listed again.
		await visitor.page.close();
		await expect(item).toHaveCount(0, LIVE);
		const again = await visitor.context.newPage();
		await again.goto('/demo');
		await expect(item).toHaveCount(1, LIVE);
	} finally {
		await visitor.context.close();
		await agentContext.close();
	}
});
