import { createSubscriber } from 'svelte/reactivity';

/**
 * Whether this tab is visible (`document.visibilityState`), as a reactive value: focus is sent
 * only while the chat is open AND the tab is visible (docs/design.md §5).
 */
class PageVisibility {
	#subscribe = createSubscriber((update) => {
		const onChange = () => update();
		document.addEventListener('visibilitychange', onChange);
		return () => document.removeEventListener('visibilitychange', onChange);
	});

	get visible(): boolean {
		if (typeof document === 'undefined') return true;
		this.#subscribe();
		return document.visibilityState !== 'hidden';
	}
}

export const pageVisibility = new PageVisibility();
