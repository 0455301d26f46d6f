import { test as base } from '@playwright/test';
import { e2eServerUrl } from './servers';

export { expect } from '@playwright/test';
export type { Browser, Locator, Page } from '@playwright/test';

/**
 * Playwright's `test`, with each worker on an app server of its own (playwright.config.ts
 * starts one per worker: own database, demo seed and Redis key prefix). Specs change what
 * everyone of a workspace sees (an agent set to away, visitors online now), so two specs running
 * side by side must not share one.
 */
export const test = base.extend({
	// Playwright reads a fixture's dependencies from this pattern: it has none.
	// eslint-disable-next-line no-empty-pattern
	baseURL: async ({}, use, testInfo) => {
		await use(e2eServerUrl(testInfo.parallelIndex));
	}
});
