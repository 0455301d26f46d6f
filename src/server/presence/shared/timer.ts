/**
 * A repeating task that never overlaps itself: the next run is scheduled when the previous one
 * settles. Unref'd, so a forgotten engine never keeps the process alive; errors never escape.
 */
export class RepeatingTask {
	#periodMs: number;
	#task: () => Promise<void>;
	#onError: (error: unknown) => void;
	#timer: NodeJS.Timeout | null = null;
	#running: Promise<void> | null = null;
	#stopped = true;

	constructor(periodMs: number, task: () => Promise<void>, onError: (error: unknown) => void) {
		this.#periodMs = Math.max(1, periodMs);
		this.#task = task;
		this.#onError = onError;
	}

	start(): void {
		if (!this.#stopped) return;
		this.#stopped = false;
		this.#schedule();
	}

	/** Runs now (unless a run is in progress, which is then awaited). */
	async runNow(): Promise<void> {
		if (this.#running) return this.#running;
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		await this.#run();
	}

	/** Stops scheduling and waits for a run in progress. */
	async stop(): Promise<void> {
		this.#stopped = true;
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		await this.#running;
	}

	/** Stops at once without waiting (a simulated crash). */
	halt(): void {
		this.#stopped = true;
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
	}

	#schedule(): void {
		if (this.#stopped || this.#timer) return;
		this.#timer = setTimeout(() => {
			this.#timer = null;
			void this.#run();
		}, this.#periodMs);
		this.#timer.unref();
	}

	async #run(): Promise<void> {
		this.#running = (async () => {
			try {
				await this.#task();
			} catch (error) {
				this.#onError(error);
			}
		})();
		try {
			await this.#running;
		} finally {
			this.#running = null;
			this.#schedule();
		}
	}
}
