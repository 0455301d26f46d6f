import { expect, test } from './fixtures';

test('an agent signs in, stays signed in across a reload, and signs out', async ({ page }) => {
	const blocked: string[] = [];
	page.on('console', (message) => {
		if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
	});
	await page.goto('/login');
	await expect(page.getByRole('heading', { name: 'Sign in to the inbox' })).toBeVisible();

	await page.getByLabel('Email').fill('ada@demo.test');
	await page.getByLabel('Password').fill('not-the-password');
	await page.getByRole('button', { name: 'Sign in' }).click();
	await expect(page.getByRole('alert')).toHaveText('Wrong email or password');
	await expect(page).toHaveURL(/\/login$/);

	await page.getByLabel('Password').fill('demo-password');
	await page.getByRole('button', { name: 'Sign in' }).click();
	await expect(page).toHaveURL(/\/inbox$/);
	await expect(page.getByTestId('me')).toHaveText('Ada (agent)');
	await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();

	await page.reload();
	await expect(page).toHaveURL(/\/inbox$/);
	await expect(page.getByTestId('me')).toHaveText('Ada (agent)');

	await page.getByRole('button', { name: 'Sign out' }).click();
	await expect(page).toHaveURL(/\/login$/);
	await page.goto('/inbox');
	await expect(page).toHaveURL(/\/login$/);
	// The pages and their scripts run under the CSP with nothing blocked.
	expect(blocked).toEqual([]);
});

test('the seeded conversations are listed with a dot per visitor', async ({ page }) => {
	await page.goto('/login');
	await page.getByLabel('Email').fill('grace@demo.test');
	await page.getByLabel('Password').fill('demo-password');
	await page.getByRole('button', { name: 'Sign in' }).click();
	await expect(page.getByTestId('me')).toHaveText('Grace (agent)');

	const lisbon = page.getByTestId('conversation-item').filter({ hasText: 'Brave Otter' });
	await expect(lisbon).toBeVisible();
	await expect(lisbon).toHaveAttribute('data-status', 'offline');
	await expect(lisbon.getByTestId('last-message')).toHaveText('Great, thanks!');

	await lisbon.click();
	await expect(page.getByTestId('messages')).toContainText('Do you ship to Portugal?');
	await expect(page.getByTestId('participant')).toHaveCount(3);
});
