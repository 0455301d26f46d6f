import { expect, test, type Locator, type Page } from './fixtures';
import { signIn } from './people';

/**
 * Issue 12: the inbox at phone, tablet and desktop widths. At 390 px a conversation is the chat
 * with its composer on screen and the visitor panel behind a toggle; the list page is the list.
 */

async function expectInViewport(page: Page, locator: Locator) {
	const box = await locator.boundingBox();
	const viewport = page.viewportSize()!;
	expect(box, 'laid out').not.toBeNull();
	expect(box!.y).toBeGreaterThanOrEqual(0);
	expect(box!.x).toBeGreaterThanOrEqual(0);
	expect(box!.y + box!.height).toBeLessThanOrEqual(viewport.height);
	expect(box!.x + box!.width).toBeLessThanOrEqual(viewport.width);
}

test.describe('phone, 390 x 844', () => {
	test.use({ viewport: { width: 390, height: 844 } });

	test('the list page is the list; a conversation is the chat with the composer on screen', async ({
		page
	}) => {
		await signIn(page);
		await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
		await expect(page.getByRole('heading', { name: 'No conversation selected' })).toBeHidden();

		await page.getByTestId('conversation-item').first().click();
		await expect(page).toHaveURL(/\/inbox\/[^/]+$/);
		await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeHidden();

		const reply = page.getByLabel('Reply');
		await expect(reply).toBeVisible();
		await expectInViewport(page, reply);
		await expectInViewport(page, page.getByRole('button', { name: 'Send' }));
		// The header with its back arrow sits at the top, under the inbox's bar.
		const back = page.getByRole('link', { name: 'Back to conversations' });
		await expectInViewport(page, back);
		expect((await back.boundingBox())!.y).toBeLessThan(120);
		// The window itself does not scroll: only the message list does.
		expect(await page.evaluate(() => document.scrollingElement!.scrollHeight)).toBeLessThanOrEqual(
			844
		);

		// The visitor panel is behind its toggle.
		const details = page.getByRole('complementary', { name: 'Visitor details' });
		await expect(details).toBeHidden();
		await page.getByTestId('panel-toggle').click();
		await expect(details).toBeVisible();
		await expect(details.getByTestId('participant').first()).toBeVisible();
		await details.getByRole('button', { name: 'Close the details' }).click();
		await expect(details).toBeHidden();
		await expect(page.getByTestId('panel-toggle')).toBeFocused();

		await page.getByRole('link', { name: 'Back to conversations' }).click();
		await expect(page).toHaveURL(/\/inbox$/);
		await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
	});
});

test.describe('tablet, 800 x 1000', () => {
	test.use({ viewport: { width: 800, height: 1000 } });

	test('list and chat side by side, the panel behind the toggle', async ({ page }) => {
		await signIn(page);
		await page.getByTestId('conversation-item').first().click();
		await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
		await expectInViewport(page, page.getByLabel('Reply'));
		await expect(page.getByRole('complementary', { name: 'Visitor details' })).toBeHidden();
		await expect(page.getByTestId('panel-toggle')).toBeVisible();
	});
});

test.describe('desktop, 1280 x 800', () => {
	test.use({ viewport: { width: 1280, height: 800 } });

	test('list, chat and the visitor panel beside it', async ({ page }) => {
		await signIn(page);
		await page.getByTestId('conversation-item').first().click();
		await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
		const details = page.getByRole('complementary', { name: 'Visitor details' });
		await expect(details).toBeVisible();
		await expect(page.getByTestId('panel-toggle')).toBeHidden();
		const chat = (await page.getByTestId('messages').boundingBox())!;
		const side = (await details.boundingBox())!;
		expect(side.x).toBeGreaterThanOrEqual(chat.x + chat.width - 1);
		await expectInViewport(page, page.getByLabel('Reply'));
	});
});
