import { expect, type Browser, type Page } from '@playwright/test';
import { beginConversation } from './visitor';

/** How long a spec waits for something live (a stream, an event) before it fails. */
export const LIVE = { timeout: 15_000 };

/** An agent of the demo seed signs in and the inbox's stream is connected. */
export async function signIn(page: Page, email = 'ada@demo.test') {
	await page.goto('/login');
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill('demo-password');
	await page.getByRole('button', { name: 'Sign in' }).click();
	await expect(page).toHaveURL(/\/inbox$/);
	await expect(page.getByTestId('stream-state')).toHaveAttribute('data-connected', 'true', LIVE);
}

/** A visitor browsing the shop (no conversation), connected. */
export async function browse(browser: Browser) {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto('/demo');
	const widget = page.getByTestId('chat-widget');
	await expect(widget).toHaveAttribute('data-connected', 'true', LIVE);
	const visitorId = (await widget.getAttribute('data-visitor-id'))!;
	return { context, page, widget, visitorId };
}

/** A visitor on the shop, connected, with a conversation begun. */
export async function arrive(browser: Browser) {
	const visitor = await browse(browser);
	const conversationId = await beginConversation(visitor.page, visitor.widget);
	return { ...visitor, conversationId };
}

/** The agent opens the visitor's conversation from the list. */
export async function openConversation(agent: Page, conversationId: string) {
	await agent
		.locator(`[data-testid="conversation-item"][data-conversation-id="${conversationId}"]`)
		.click();
	await expect(agent).toHaveURL(new RegExp(`/inbox/${conversationId}$`));
}
