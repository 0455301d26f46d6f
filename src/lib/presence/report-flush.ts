/**
 * Runs a tab's presence reports (focus, page) one round at a time. Queued in a microtask, so a
 * blur then a focus within one update (switching conversations) is one call; one round in
 * flight at a time, because reports of one tab may reach different nodes and a slow earlier one
 * applied after a later one would leave the older focus shown (green while the chat is closed).
 * A wish made meanwhile is sent when the round returns.
 *
 * Plain TypeScript: the truth benchmark (`scripts/bench/truth.ts`) reports through it too.
 */
export class ReportFlush {
	#round: () => Promise<void>;
	#queued = false;
	#running = false;
	#again = false;

	/** `round` sends what differs from what the live connection was told. */
	constructor(round: () => Promise<void>) {
		this.#round = round;
	}

	queue() {
		if (this.#queued) return;
		this.#queued = true;
		queueMicrotask(() => {
			this.#queued = false;
			void this.#run();
		});
	}

	async #run() {
		if (this.#running) {
			this.#again = true;
			return;
		}
		this.#running = true;
		try {
			do {
				this.#again = false;
				await this.#round();
			} while (this.#again);
		} finally {
			this.#running = false;
		}
	}
}
