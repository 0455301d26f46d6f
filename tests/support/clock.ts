import { vi } from 'vitest';

/**
 * How a test lets time pass, as a resource of the thing under test. The Redis engine lives on
 * Redis's clock (TIME inside its scripts), so its tests need the real one; the memory engine
 * only reads `Date` and its own timers, so a fake clock runs its grace periods and sweeps at
 * once (tRPC's own tests hold fake timers as a disposable resource the same way).
 */
export interface TestClock {
	/** Lets `ms` pass; a fake clock moves at once, running whatever falls due on the way. */
	sleep(ms: number): Promise<void>;
	/**
	 * Resolves with the first truthy value of `check`; fails after `timeoutMs` of this clock,
	 * naming `what`. Generous bounds: a wait is not a timing assertion.
	 */
	until<T>(check: () => T | Promise<T>, what?: string, timeoutMs?: number): Promise<Truthy<T>>;
}

/** What a passing check of `until` can return. */
export type Truthy<T> = Exclude<T, null | undefined | false | 0 | ''>;

const DEFAULT_WAIT_MS = 15_000;

function notYet(what = 'the condition', timeoutMs: number): Error {
	return new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export const realClock: TestClock = {
	sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
	until: (check, what, timeoutMs = DEFAULT_WAIT_MS) =>
		vi.waitFor(
			async () => {
				const value = await check();
				if (!value) throw notYet(what, timeoutMs);
				return value as Truthy<typeof value>;
			},
			{ timeout: timeoutMs, interval: 20 }
		)
};

/** Fake time moves this far between two checks of `until`. */
const FAKE_STEP_MS = 5;

/** Engines holding the fake clock (see `fakeClock`). */
let holders = 0;

/**
 * Fakes timers and `Date` until every holder has disposed it (`using clock = fakeClock()`, or
 * `dispose()` in the owner's close): two engines of one test share one fake time, so neither
 * loses the other's timers. Microtasks and I/O stay real, so awaited promises settle between
 * steps.
 */
export function fakeClock(): TestClock & Disposable {
	if (holders++ === 0) {
		vi.useFakeTimers({
			toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date']
		});
	}
	let disposed = false;
	return {
		async sleep(ms) {
			await vi.advanceTimersByTimeAsync(ms);
		},
		async until(check, what, timeoutMs = DEFAULT_WAIT_MS) {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const value = await check();
				if (value) return value as Truthy<typeof value>;
				if (Date.now() >= deadline) throw notYet(what, timeoutMs);
				await vi.advanceTimersByTimeAsync(FAKE_STEP_MS);
			}
		},
		[Symbol.dispose]() {
			if (disposed) return;
			disposed = true;
			if (--holders === 0) vi.useRealTimers();
		}
	};
}
/** The real clock's wait, for tests without an engine-owned clock. */
export const waitFor = realClock.until;
/** The real clock's sleep: only to let time pass that a test is about, never to wait for an event. */
export const sleep = realClock.sleep;
