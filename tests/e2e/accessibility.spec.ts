import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from './fixtures';
import { LIVE, signIn } from './people';

/**
 * Issue 12: axe-core on the pages people use, in the built app. Serious and critical findings
 * fail the test (moderate and minor ones are printed, so they are seen without blocking).
 */

async function expectNoSeriousViolations(page: Page, what: string) {
	const { violations } = await new AxeBuilder({ page })
		.withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
		.analyze();
	const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	const rest = violations.filter((v) => !blocking.includes(v));
	if (rest.length > 0) {
		console.log(`[axe] ${what}: ${rest.map((v) => `${v.id} (${v.impact})`).join(', ')}`);
	}
	expect(
		blocking.map((v) => ({
			id: v.id,
			impact: v.impact,
			help: v.help,
			targets: v.nodes.slice(0, 5).map((n) => n.target.join(' '))
		})),
		`serious or critical axe violations on ${what}`
	).toEqual([]);
}

test('login, with and without an error: no serious or critical violations', async ({ page }) => {
	await page.goto('/login');
	await expect(page.getByRole('heading', { name: 'Sign in to the inbox' })).toBeVisible();
	await expectNoSeriousViolations(page, 'login');

	await page.getByLabel('Email').fill('ada@demo.test');
	await page.getByLabel('Password').fill('not-the-password');
	await page.getByRole('button', { name: 'Sign in' }).click();
	await expect(page.getByRole('alert')).toHaveText('Wrong email or password');
	await expectNoSeriousViolations(page, 'login with an error');

	// A stale error goes as soon as the form is edited.
	await page.getByLabel('Password').fill('demo-passwor');
	await expect(page.getByRole('alert')).toHaveCount(0);
});

test('inbox, a conversation and its details: no serious or critical violations', async ({
	page
}) => {
	await signIn(page);
	await expect(page.getByTestId('conversation-item').first()).toBeVisible();
	await expectNoSeriousViolations(page, 'the inbox');

	await page.getByTestId('conversation-item').first().click();
	await expect(page).toHaveURL(/\/inbox\/[^/]+$/);
	await expect(page.getByTestId('messages')).toBeVisible();
	// Focus lands on the conversation, not on <body>.
	await expect(page.locator('#conversation-title')).toBeFocused();
	await expectNoSeriousViolations(page, 'a conversation');

	// The drawer of the visitor panel (tablet width), open.
	await page.setViewportSize({ width: 800, height: 900 });
	await page.getByTestId('panel-toggle').click();
	await expect(page.getByRole('complementary', { name: 'Visitor details' })).toBeVisible();
	await expectNoSeriousViolations(page, 'a conversation with the details drawer open');
	await page.keyboard.press('Escape');
	await expect(page.getByRole('complementary', { name: 'Visitor details' })).toBeHidden();
	await expect(page.getByTestId('panel-toggle')).toBeFocused();
});

test('the 404 page has a way back and no serious or critical violations', async ({ page }) => {
	const response = await page.goto('/no-such-page');
	expect(response?.status()).toBe(404);
	await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
	await expectNoSeriousViolations(page, 'the 404 page');
	await page.getByRole('link', { name: 'Back to the inbox' }).click();
	// Signed out: the inbox sends to the login page.
	await expect(page).toHaveURL(/\/login$/);
});

test('/demo with the chat widget open: no serious or critical violations', async ({ page }) => {
	await page.goto('/demo');
	await expect(page.getByTestId('chat-widget')).toHaveAttribute('data-connected', 'true', LIVE);
	await expect(page.getByTestId('product-picture').first()).toBeVisible();
	await expectNoSeriousViolations(page, '/demo');
	await page.getByTestId('chat-launcher').click();
	await expect(page.getByLabel('Your message')).toBeVisible(LIVE);
	await expectNoSeriousViolations(page, '/demo with the widget open');

	await page.getByTestId('product-link').first().click();
	await expect(page.getByRole('button', { name: 'Add to cart' })).toBeVisible();
	await expectNoSeriousViolations(page, 'a product page with the widget open');
});

test('the page preview opens enlarged with its page and age, and closes with Escape', async ({
	page,
	browser
}) => {
	const visitorContext = await browser.newContext();
	const visitor = await visitorContext.newPage();
	try {
		await visitor.goto('/demo');
		const widget = visitor.getByTestId('chat-widget');
		await expect(widget).toHaveAttribute('data-connected', 'true', LIVE);
		await visitor.getByTestId('chat-launcher').click();
		await visitor.getByLabel('Your message').fill('Hello, can I see a bigger kettle?');
		await visitor.getByLabel('Your message').press('Enter');
		const visitorId = (await widget.getAttribute('data-visitor-id'))!;

		await signIn(page);
		await page.locator(`[data-testid="conversation-item"][data-visitor-id="${visitorId}"]`).click();
		const thumb = page.getByTestId('visitor-preview-open');
		await expect(thumb).toBeVisible({ timeout: 20_000 });
		await thumb.click();
		const dialog = page.getByRole('dialog');
		await expect(dialog).toBeVisible();
		await expect(dialog.getByRole('heading')).toHaveText('Kettle & Co. · Home');
		await expect(dialog).toContainText('/demo');
		await expect(page.getByTestId('preview-dialog-age')).toContainText('captured');
		await expectNoSeriousViolations(page, 'the enlarged page preview');

		await page.keyboard.press('Escape');
		await expect(dialog).toBeHidden();
		await expect(thumb).toBeFocused();

		await thumb.press('Enter');
		await expect(dialog).toBeVisible();
		await page.getByRole('button', { name: 'Close the preview' }).click();
		await expect(dialog).toBeHidden();
		await expect(thumb).toBeFocused();
	} finally {
		await visitorContext.close();
	}
});

test('the visitors-online list: no serious or critical violations', async ({ page }) => {
	await signIn(page);
	// The list lives on the data side of issue 12 (its own branch): checked wherever it exists.
	const response = await page.goto('/inbox/visitors');
	test.skip(response?.status() === 404, 'no /inbox/visitors page on this branch');
	await expect(page.getByTestId('stream-state')).toHaveAttribute('data-connected', 'true', LIVE);
	await expectNoSeriousViolations(page, 'the visitors-online list');
});
