import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';
import LongestFirst from './tests/support/sequencer';

export default defineConfig({
	plugins: [sveltekit()],
	test: {
		expect: { requireAssertions: true },
		// One pool for every project: the quick unit and component files fill the gaps while
		// integration files wait on Redis, Postgres and app nodes.
		maxWorkers: 3,
		sequence: { sequencer: LongestFirst },
		projects: [
			{
				extends: './vite.config.ts',
				test: {
					name: 'unit',
					environment: 'node',
					isolate: false,
					include: ['src/**/*.spec.ts', 'tests/unit/**/*.test.ts'],
					exclude: ['src/**/*.svelte.spec.ts']
				}
			},
			{
				extends: './vite.config.ts',
				test: {
					name: 'integration',
					environment: 'node',
					// Isolated: these files hold servers, clients and clocks. Sharing one module graph
					// saved about 15 s of CPU, but a Redis Cluster contract test hung to its timeout
					// in 2 of 6 such runs (not seen isolated; cause not found).
					isolate: true,
					include: ['tests/integration/**/*.test.ts'],
					globalSetup: ['tests/support/global-setup.ts'],
					testTimeout: 60_000,
					hookTimeout: 60_000
				}
			},
			{
				extends: './vite.config.ts',
				resolve: { conditions: ['browser'] },
				test: {
					name: 'components',
					environment: 'jsdom',
					isolate: false,
					include: ['src/**/*.svelte.spec.ts'],
					setupFiles: ['tests/support/components-setup.ts']
				}
			}
		]
	}
});
