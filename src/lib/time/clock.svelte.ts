import { createSubscriber } from 'svelte/reactivity';

/**
 * A shared ticking clock: `clock.now` is the current time in ms and updates every `intervalMs`
 * while something reads it inside an effect or template. One timer for the whole page,
 * started by the first reader and stopped when the last goes.
 */
export class Clock {
	#now = $state(Date.now());
	#subscribe: () => void;

	constructor(intervalMs = 1000) {
		this.#subscribe = createSubscriber((update) => {
			this.#now = Date.now();
			update();
			const timer = setInterval(() => {
				this.#now = Date.now();
				update();
			}, intervalMs);
			return () => clearInterval(timer);
		});
	}

	get now() {
		// Outside a reactive context (server render, plain code) there is no timer: read the time.
		if (!$effect.tracking()) return Date.now();
		this.#subscribe();
		return this.#now;
	}
}

/** The page's clock (relative times such as "Last seen 5 minutes ago" read it). */
export const clock = new Clock();

export { idleFor, messageTime, onSiteFor, relativeTime } from './format';
