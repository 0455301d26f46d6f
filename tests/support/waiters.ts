/**
 * Tests waiting for a value that passes a test: each value offered goes to the first waiter it
 * matches; a waiter gives up after its timeout with what was received (from `describe`).
 */
export class Waiters<T> {
	#list: { test: (value: T) => boolean; resolve: (value: T) => void }[] = [];

	/** Hands `value` to the first waiter it passes; true when one took it. */
	offer(value: T): boolean {
		const waiter = this.#list.find((w) => w.test(value));
		if (!waiter) return false;
		this.#list.splice(this.#list.indexOf(waiter), 1);
		waiter.resolve(value);
		return true;
	}

	wait(test: (value: T) => boolean, timeoutMs: number, describe: () => string): Promise<T> {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#list.splice(this.#list.indexOf(waiter), 1);
				reject(new Error(`No matching event within ${timeoutMs} ms; got: ${describe()}`));
			}, timeoutMs);
			const waiter = {
				test,
				resolve: (value: T) => {
					clearTimeout(timer);
					resolve(value);
				}
			};
			this.#list.push(waiter);
		});
	}
}
