import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests against the built app (`node scripts/serve.js`) in Debian's Chromium: no browser
 * download is possible here, so the system binary is used.
 */
const port = Number(process.env.E2E_PORT ?? 4173);

export default defineConfig({
	testDir: 'tests/e2e',
	timeout: 60_000,
	retries: 0,
	workers: 1,
	reporter: process.env.CI ? 'list' : 'line',
	use: {
		baseURL: `http://127.0.0.1:${port}`,
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
	webServer: {
		command: 'node tests/e2e/server.mjs',
		url: `http://127.0.0.1:${port}/healthz`,
		reuseExistingServer: false,
		// SIGTERM first: the server drops its e2e database and Redis keys on the way out.
		gracefulShutdown: { signal: 'SIGTERM', timeout: 5000 },
		timeout: 120_000,
		env: { PORT: String(port) }
	}
});
