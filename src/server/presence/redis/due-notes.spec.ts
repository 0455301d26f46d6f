import { describe, expect, it, vi } from 'vitest';
import { DueNotes } from './due-notes';

/** A send whose calls stay in flight until the test answers them. */
function manualSend() {
	const calls: { ws: string; deadline: number; answer: (error?: Error) => void }[] = [];
	const send = (ws: string, deadline: number) =>
		new Promise<void>((resolve, reject) => {
			calls.push({ ws, deadline, answer: (error) => (error ? reject(error) : resolve()) });
		});
	return { calls, send };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('DueNotes', () => {
	it('sends a lone note at once', async () => {
		const { calls, send } = manualSend();
		const notes = new DueNotes(send);
		const done = notes.note('w1', 100);
		expect(calls.map((c) => [c.ws, c.deadline])).toEqual([['w1', 100]]);
		calls[0]!.answer();
		await done;
	});

	it('merges notes made while one is in flight into one note of the earliest deadline, sent after it', async () => {
		const { calls, send } = manualSend();
		const notes = new DueNotes(send);
		const first = notes.note('w1', 500);
		const later = [notes.note('w1', 300), notes.note('w1', 400), notes.note('w1', 200)];
		let laterDone = false;
		void Promise.all(later).then(() => (laterDone = true));
		expect(calls).toHaveLength(1);
		calls[0]!.answer();
		await first;
		await tick();
		expect(calls.map((c) => c.deadline)).toEqual([500, 200]);
		expect(laterDone).toBe(false);
		calls[1]!.answer();
		await Promise.all(later);
	});

	it('keeps workspaces apart', () => {
		const { calls, send } = manualSend();
		const notes = new DueNotes(send);
		void notes.note('w1', 100);
		void notes.note('w2', 200);
		expect(calls.map((c) => [c.ws, c.deadline])).toEqual([
			['w1', 100],
			['w2', 200]
		]);
	});

	it('a failed note fails its callers and the waiting note is still sent', async () => {
		const { calls, send } = manualSend();
		const notes = new DueNotes(send);
		const first = notes.note('w1', 100);
		const second = notes.note('w1', 50);
		calls[0]!.answer(new Error('Redis away'));
		await expect(first).rejects.toThrow('Redis away');
		await tick();
		expect(calls.map((c) => c.deadline)).toEqual([100, 50]);
		calls[1]!.answer();
		await second;
		// Nothing left in flight: the next note goes at once.
		void notes.note('w1', 10);
		expect(calls.map((c) => c.deadline)).toEqual([100, 50, 10]);
	});

	it('with a spacing, a note soon after another waits for the spacing and merges with what comes meanwhile', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
		try {
			const { calls, send } = manualSend();
			const notes = new DueNotes(send, { spacingMs: 40 });
			const first = notes.note('w1', 500);
			calls[0]!.answer();
			await first;
			// Within the spacing: these wait, together.
			const later = [notes.note('w1', 300), notes.note('w1', 200)];
			await vi.advanceTimersByTimeAsync(39);
			expect(calls).toHaveLength(1);
			await vi.advanceTimersByTimeAsync(1);
			expect(calls.map((c) => c.deadline)).toEqual([500, 200]);
			calls[1]!.answer();
			await Promise.all(later);
			// After the spacing, with nothing in flight, a note goes at once again.
			await vi.advanceTimersByTimeAsync(40);
			void notes.note('w1', 100);
			expect(calls.map((c) => c.deadline)).toEqual([500, 200, 100]);
		} finally {
			vi.useRealTimers();
		}
	});
});
