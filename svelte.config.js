import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter(),
		alias: {
			$server: 'src/server'
		},
		// SvelteKit adds a nonce for its own inline scripts (mode auto: nonces for rendered pages).
		// Frame protection is per route (src/hooks.server.ts): the inbox refuses framing, the demo
		// shop may be framed. data: and blob: images are the page previews (modern-screenshot
		// renders the page as an SVG data URL into a canvas; the inbox shows them as data URLs).
		csp: {
			mode: 'auto',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				// Svelte's transitions and style attributes; styles cannot run code.
				'style-src': ['self', 'unsafe-inline'],
				'img-src': ['self', 'data:', 'blob:'],
				'font-src': ['self', 'data:'],
				'connect-src': ['self', 'data:', 'blob:'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self']
			}
		}
	}
};

export default config;
