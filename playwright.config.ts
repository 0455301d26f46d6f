import { defineConfig } from '@playwright/test';
import { E2E_WORKERS, e2eServerPort, e2eServerUrl } from './tests/e2e/servers';

/**
 * End-to-end tests against the built app (`node scripts/serve.js`) in Debian's Chromium: no browser
 * download is possible here, so the system binary is used. Each worker has an app server of its
 * own (tests/e2e/fixtures.ts points its pages there): E2E_WORKERS of them, from E2E_PORT (4173).
 * One by default: beside vitest, a second worker and server cost this 2-core machine more than
 * they save.
 */

export default defineConfig({
	testDir: 'tests/e2e',
	timeout: 60_000,
	retries: 0,
	workers: E2E_WORKERS,
	reporter: process.env.CI ? 'list' : 'line',
	use: {
		baseURL: e2eServerUrl(0),
		launchOptions: {
			executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
			args: [
				'--headless',
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync'
			]
		}
	},
	webServer: Array.from({ length: E2E_WORKERS }, (_, index) => ({
		command: 'node tests/e2e/server.mjs',
		url: `${e2eServerUrl(index)}/healthz`,
		reuseExistingServer: false,
		// SIGTERM first: the server drops its e2e database and Redis keys on the way out.
		gracefulShutdown: { signal: 'SIGTERM' as const, timeout: 5000 },
		timeout: 120_000,
		env: { PORT: String(e2eServerPort(index)) }
	}))
});
