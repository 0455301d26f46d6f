import { describe, expect, it } from 'vitest';
import { FanoutWriter, Frame, type FrameTarget } from './fanout-writer';

/** A target that records each flush as one socket write: the frames' texts it carried. */
class RecordingTarget implements FrameTarget {
	writes: string[][] = [];
	#held: Frame[] = [];

	enqueue(frame: Frame): boolean {
		this.#held.push(frame);
		return this.#held.length === 1;
	}

	flush(): void {
		if (this.#held.length === 0) return;
		this.writes.push(this.#held.map((frame) => frame.raw.toString()));
		this.#held = [];
	}
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('FanoutWriter', () => {
	it('writes the first event of a turn to a few streams at once; what follows leaves together', async () => {
		const writer = new FanoutWriter({});
		const [a, b] = [new RecordingTarget(), new RecordingTarget()];
		writer.send(new Frame('one'), [a, b], 'presence');
		expect(a.writes).toEqual([['one']]);
		writer.send(new Frame('two'), [a], 'presence');
		writer.send(new Frame('three'), [a, b], 'presence');
		expect(a.writes).toEqual([['one']]);
		await turn();
		expect(a.writes).toEqual([['one'], ['two', 'three']]);
		expect(b.writes).toEqual([['one'], ['three']]);
	});

	it('writes to a large audience in the next pass, one write per stream for the whole burst', async () => {
		const writer = new FanoutWriter({});
		const targets = Array.from({ length: 100 }, () => new RecordingTarget());
		writer.send(new Frame('one'), targets, 'presence');
		writer.send(new Frame('two'), targets.slice(0, 10), 'presence');
		expect(targets[0]!.writes).toEqual([]);
		await turn();
		expect(targets[0]!.writes).toEqual([['one', 'two']]);
		expect(targets[99]!.writes).toEqual([['one']]);
	});

	it('reports each fan-out once written', async () => {
		const done: [string, number][] = [];
		const writer = new FanoutWriter({ onDone: (type, streams) => done.push([type, streams]) });
		const target = new RecordingTarget();
		writer.send(new Frame('one'), [target], 'message');
		expect(done).toEqual([['message', 1]]);
		writer.send(new Frame('two'), [target], 'read');
		expect(done).toEqual([['message', 1]]);
		await turn();
		expect(target.writes).toEqual([['one'], ['two']]);
		expect(done).toEqual([
			['message', 1],
			['read', 1]
		]);
	});

	it('yields the loop between slices, and what arrives meanwhile keeps each stream in order', async () => {
		// A slice of 0 ms: the pass lets the loop run at its first look at the clock.
		const writer = new FanoutWriter({ sliceMs: 0 });
		const targets = Array.from({ length: 200 }, () => new RecordingTarget());
		writer.send(new Frame('one'), targets, 'presence');
		await turn();
		const written = targets.filter((t) => t.writes.length > 0).length;
		expect(written).toBeGreaterThan(0);
		expect(written).toBeLessThan(200);
		// The pass looks at the clock every 16 writes: it stops only there.
		expect(written % 16).toBe(0);
		writer.send(new Frame('two'), targets, 'presence');
		for (let i = 0; i < 50; i++) await turn();
		// Those not yet written when `two` came get both in one write; the first ones get it apart.
		expect(targets[0]!.writes).toEqual([['one'], ['two']]);
		expect(targets[199]!.writes).toEqual([['one', 'two']]);
		expect(writer.backlog).toBe(0);
	});
});
