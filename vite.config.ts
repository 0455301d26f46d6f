import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	test: {
		expect: { requireAssertions: true },
		projects: [
			{
				extends: './vite.config.ts',
				test: {
					name: 'unit',
					environment: 'node',
					sequence: { groupOrder: 0 },
					include: ['src/**/*.spec.ts', 'tests/unit/**/*.test.ts'],
					exclude: ['src/**/*.svelte.spec.ts']
				}
			},
			{
				extends: './vite.config.ts',
				test: {
					name: 'integration',
					environment: 'node',
					// After the quick projects, alone: it starts servers and measures presence timings.
					sequence: { groupOrder: 2 },
					include: ['tests/integration/**/*.test.ts'],
					globalSetup: ['tests/support/global-setup.ts'],
					testTimeout: 60_000,
					hookTimeout: 60_000,
					// Two cores: more parallel files only add scheduling noise to timing-based presence tests.
					maxWorkers: 2
				}
			},
			{
				extends: './vite.config.ts',
				resolve: { conditions: ['browser'] },
				test: {
					name: 'components',
					environment: 'jsdom',
					sequence: { groupOrder: 1 },
					include: ['src/**/*.svelte.spec.ts'],
					setupFiles: ['tests/support/components-setup.ts']
				}
			}
		]
	}
});
