import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './queue';

describe('BoundedQueue', () => {
	it('hands items over in order, to a waiting reader too', async () => {
		const queue = new BoundedQueue<number>(10, new AbortController().signal, () => {});
		const waiting = queue.next();
		queue.push(1);
		queue.push(2);
		expect(await waiting).toBe(1);
		expect(await queue.next()).toBe(2);
	});

	it('overflows past its limit: drops what it holds and says so once', async () => {
		let overflows = 0;
		const queue = new BoundedQueue<number>(3, new AbortController().signal, () => overflows++);
		for (let i = 0; i < 10; i++) queue.push(i);
		expect(overflows).toBe(1);
		expect(queue.overflowed).toBe(true);
		expect(queue.size).toBe(0);
		expect(await queue.next()).toBeNull();
	});

	it('answers null to a waiting reader when the signal aborts, and takes nothing after', async () => {
		const controller = new AbortController();
		const queue = new BoundedQueue<number>(3, controller.signal, () => {});
		const waiting = queue.next();
		controller.abort();
		expect(await waiting).toBeNull();
		queue.push(1);
		expect(await queue.next()).toBeNull();
	});
});
