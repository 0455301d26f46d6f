import { expect, test, type Page } from './fixtures';
import { LIVE, signIn, arrive, openConversation } from './people';

/**
 * Issue 10: what an agent sees is true. Focus after a page load, read marks, Sent → Delivered →
 * Read, and previews that match "Viewing", in the built app.
 */

/**
 * Records every value the `data-status` of `selector` takes on the page, with when (epoch ms):
 * what the agent saw, frame by frame, not just where it ended.
 */
async function recordStatuses(page: Page, selector: string) {
	await page.evaluate((sel) => {
		const frames: { status: string; at: number }[] = [];
		const read = () => document.querySelector(sel)?.getAttribute('data-status') ?? 'missing';
		frames.push({ status: read(), at: Date.now() });
		new MutationObserver(() => {
			const status = read();
			if (frames.at(-1)!.status !== status) frames.push({ status, at: Date.now() });
		}).observe(document.body, {
			subtree: true,
			childList: true,
			attributes: true,
			attributeFilter: ['data-status']
		});
		(window as unknown as { __frames: typeof frames }).__frames = frames;
	}, selector);
	return () =>
		page.evaluate(
			() => (window as unknown as { __frames: { status: string; at: number }[] }).__frames
		);
}

/** Console errors and uncaught exceptions of a page (a 429 logs "Failed to load resource"). */
function consoleErrors(page: Page): string[] {
	const seen: string[] = [];
	page.on('console', (message) => {
		if (message.type() === 'error') seen.push(message.text());
	});
	page.on('pageerror', (error) => seen.push(error.message));
	return seen;
}

test.describe('green survives a page load', () => {
	test('a reload with the chat closed shows Active to the agent within 1 s, never Offline', async ({
		browser
	}) => {
		const agentContext = await browser.newContext();
		const visitor = await arrive(browser);
		try {
			const agent = await agentContext.newPage();
			await signIn(agent);
			await visitor.page.getByTestId('chat-launcher').click();
			await openConversation(agent, visitor.conversationId);
			const panel = agent.getByTestId('visitor-panel');
			await expect(panel).toHaveAttribute('data-status', 'online', LIVE);

			// The visitor closes the chat and the blur never reaches the server (as when the page
			// is reloaded right away and takes the request with it): the server still holds the
			// focus, which the reloaded tab would inherit.
			await visitor.page.route('**/api/trpc/*presence.focus*', (route) => route.abort());
			const blurLost = visitor.page.waitForEvent('requestfailed', (request) =>
				request.url().includes('presence.focus')
			);
			await visitor.page.getByRole('button', { name: 'Close the chat' }).click();
			await blurLost;
			await visitor.page.unroute('**/api/trpc/*presence.focus*');
			await expect(panel).toHaveAttribute('data-status', 'online');

			const frames = await recordStatuses(agent, '[data-testid="visitor-panel"]');
			await visitor.page.reload();
			const loadedAt = Date.now();
			await expect(visitor.page.getByTestId('chat-panel')).toHaveCount(0);
			await expect(panel).toHaveAttribute('data-status', 'active', LIVE);
			await expect(agent.getByTestId('visitor-presence')).toHaveText('Active');

			const seen = await frames();
			expect(seen.map((f) => f.status)).toEqual(['online', 'active']);
			const activeAt = seen.find((f) => f.status === 'active')!.at;
			test.info().annotations.push({
				type: 'active after load',
				description: `${activeAt - loadedAt} ms`
			});
			expect(activeAt - loadedAt).toBeLessThan(1000);
		} finally {
			await visitor.context.close();
			await agentContext.close();
		}
	});

	test('a reload with the chat open keeps it open and the agent sees Online throughout', async ({
		browser
	}) => {
		const agentContext = await browser.newContext();
		const visitor = await arrive(browser);
		try {
			const agent = await agentContext.newPage();
			await signIn(agent);
			await visitor.page.getByTestId('chat-launcher').click();
			await openConversation(agent, visitor.conversationId);
			const panel = agent.getByTestId('visitor-panel');
			await expect(panel).toHaveAttribute('data-status', 'online', LIVE);
			await expect(agent.getByTestId('visitor-page')).toHaveText(
				'Viewing Kettle & Co. · Home',
				LIVE
			);

			const frames = await recordStatuses(agent, '[data-testid="visitor-panel"]');
			await visitor.page.reload();
			await expect(visitor.page.getByTestId('chat-panel')).toBeVisible();
			await expect(visitor.widget).toHaveAttribute('data-connected', 'true', LIVE);
			// A later change of the same person: everything the reload caused has arrived before it.
			await visitor.page.getByRole('link', { name: /Linen Apron/ }).click();
			await expect(agent.getByTestId('visitor-page')).toHaveText(
				'Viewing Linen Apron · Kettle & Co.',
				LIVE
			);
			expect((await frames()).map((f) => f.status)).toEqual(['online']);
		} finally {
			await visitor.context.close();
			await agentContext.close();
		}
	});

	test('an agent loading /inbox with no conversation open shows Active to a teammate within 1 s', async ({
		browser
	}) => {
		const adaContext = await browser.newContext();
		const graceContext = await browser.newContext();
		const visitor = await arrive(browser);
		try {
			const grace = await graceContext.newPage();
			await signIn(grace, 'grace@demo.test');
			await openConversation(grace, visitor.conversationId);
			const ada = await adaContext.newPage();
			await signIn(ada);
			await openConversation(ada, visitor.conversationId);
			const teammate = ada.getByTestId('participant').filter({ hasText: 'Grace' });
			await expect(teammate).toHaveAttribute('data-status', 'online', LIVE);
			const graceId = await teammate.getAttribute('data-user-id');

			const frames = await recordStatuses(
				ada,
				`[data-testid="participant"][data-user-id="${graceId}"]`
			);
			await grace.goto('/inbox');
			const loadedAt = Date.now();
			await expect(teammate).toHaveAttribute('data-status', 'active', LIVE);

			const seen = await frames();
			expect(seen.map((f) => f.status)).toEqual(['online', 'active']);
			test.info().annotations.push({
				type: 'active after load',
				description: `${seen[1]!.at - loadedAt} ms`
			});
			expect(seen[1]!.at - loadedAt).toBeLessThan(1000);
		} finally {
			await visitor.context.close();
			await graceContext.close();
			await adaContext.close();
		}
	});
});

test('read only once the chat is open; Sent → Delivered → Read for both sides', async ({
	browser
}) => {
	const agentContext = await browser.newContext();
	const visitor = await arrive(browser);
	try {
		const agent = await agentContext.newPage();
		await signIn(agent);
		await openConversation(agent, visitor.conversationId);
		const panel = agent.getByTestId('visitor-panel');
		await expect(panel).toHaveAttribute('data-status', 'active', LIVE);
		const receiptOf = (body: string) =>
			agent.getByTestId('message').filter({ hasText: body }).getByTestId('receipt');

		// The chat is closed: the message reaches the visitor's tab but nobody has read it.
		await agent.getByLabel('Reply').fill('Can I help you find something?');
		await agent.getByRole('button', { name: 'Send' }).click();
		const launcher = visitor.page.getByTestId('chat-launcher');
		await expect(launcher.getByLabel('1 new')).toBeVisible(LIVE);
		await expect(receiptOf('Can I help you find something?')).toHaveAttribute(
			'data-receipt',
			'delivered'
		);
		await expect(receiptOf('Can I help you find something?')).toHaveText('Delivered');

		// Opening the chat reads it; only now does the agent see Read.
		await launcher.click();
		await expect(visitor.page.getByTestId('widget-messages')).toContainText(
			'Can I help you find something?'
		);
		await expect(receiptOf('Can I help you find something?')).toHaveAttribute(
			'data-receipt',
			'read',
			LIVE
		);

		// The visitor writes while the agent is on the list, not in the conversation: Delivered,
		// then Read once the agent opens it.
		await agent.goto('/inbox');
		await expect(agent.getByTestId('stream-state')).toHaveAttribute('data-connected', 'true', LIVE);
		const box = visitor.page.getByLabel('Your message');
		await box.fill('A kettle for a gift');
		await box.press('Enter');
		const ownReceipt = visitor.page
			.getByTestId('widget-message')
			.filter({ hasText: 'A kettle for a gift' })
			.getByTestId('widget-receipt');
		await expect(ownReceipt).toHaveAttribute('data-receipt', 'delivered', LIVE);
		await openConversation(agent, visitor.conversationId);
		await expect(ownReceipt).toHaveAttribute('data-receipt', 'read', LIVE);

		// The visitor leaves: a reply is only Sent, and becomes Delivered when they come back.
		await visitor.page.close();
		await expect(panel).toHaveAttribute('data-status', 'offline', LIVE);
		await agent.getByLabel('Reply').fill('We gift-wrap for free.');
		await agent.getByRole('button', { name: 'Send' }).click();
		await expect(receiptOf('We gift-wrap for free.')).toHaveAttribute('data-receipt', 'sent', LIVE);
		await expect(receiptOf('We gift-wrap for free.')).toHaveText('Sent');
		const back = await visitor.context.newPage();
		await back.goto('/demo');
		await expect(receiptOf('We gift-wrap for free.')).toHaveAttribute(
			'data-receipt',
			'delivered',
			LIVE
		);
		// A new tab starts with the chat closed: unread, so not Read.
		await expect(back.getByTestId('chat-launcher').getByLabel('1 new')).toBeVisible(LIVE);
		await expect(receiptOf('We gift-wrap for free.')).toHaveAttribute('data-receipt', 'delivered');
	} finally {
		await visitor.context.close();
		await agentContext.close();
	}
});

test('the preview is of the page under "Viewing", or says which page it shows; reloads log no errors', async ({
	browser
}) => {
	const agentContext = await browser.newContext();
	const visitor = await arrive(browser);
	const errors = consoleErrors(visitor.page);
	try {
		const agent = await agentContext.newPage();
		await signIn(agent);
		await openConversation(agent, visitor.conversationId);
		const viewing = agent.getByTestId('visitor-page');
		const preview = agent.getByTestId('visitor-preview');
		const caption = agent.getByTestId('visitor-preview-caption');
		await expect(viewing).toHaveText('Viewing Kettle & Co. · Home', LIVE);
		await expect(preview).toHaveAttribute('data-current', 'true', { timeout: 20_000 });
		await expect(caption).toHaveText(/^This page, captured /);

		// A navigation: until the new page's capture arrives, the old picture says what it is.
		await visitor.page.getByRole('link', { name: /Oak Cutting Board/ }).click();
		await expect(viewing).toHaveText('Viewing Oak Cutting Board · Kettle & Co.', LIVE);
		await expect(caption).toHaveText(
			/^(This page, captured .+|Earlier page: Kettle & Co\. · Home, captured .+)$/
		);
		if ((await preview.getAttribute('data-current')) !== 'true') {
			await expect(preview).toHaveAttribute(
				'alt',
				'Preview of an earlier page: Kettle & Co. · Home'
			);
		}
		// Its own capture follows as soon as the spacing allows.
		await expect(preview).toHaveAttribute('data-current', 'true', { timeout: 20_000 });
		await expect(caption).toHaveText(/^This page, captured /);

		// Reloads (same page, then a full load of another) log nothing, and the new page gets its picture.
		await visitor.page.reload();
		await expect(visitor.widget).toHaveAttribute('data-connected', 'true', LIVE);
		await visitor.page.goto('/demo/cart');
		await expect(viewing).toHaveText('Viewing Your cart · Kettle & Co.', LIVE);
		await expect(preview).toHaveAttribute('data-current', 'true', { timeout: 20_000 });
		await visitor.page.reload();
		await expect(visitor.widget).toHaveAttribute('data-connected', 'true', LIVE);
		await expect(viewing).toHaveText('Viewing Your cart · Kettle & Co.', LIVE);
		await expect(preview).toHaveAttribute('data-current', 'true');
		expect(errors).toEqual([]);
	} finally {
		await visitor.context.close();
		await agentContext.close();
	}
});
