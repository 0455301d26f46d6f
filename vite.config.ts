import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

/** The app's build. Tests are configured in vitest.config.ts (its projects extend this file). */
export default defineConfig({
	plugins: [sveltekit()]
});
