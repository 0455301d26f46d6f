/**
 * Something frames are written to: a hub stream. It keeps what it was given until `flush`, so
 * a burst of events reaches each socket in one write instead of one write per event.
 */
export interface FrameTarget {
	/** Keeps `frame` to send with the next flush; true when it held nothing before (now dirty). */
	enqueue(frame: Frame): boolean;
	/** Writes what it keeps, in order, in one socket write. */
	flush(): void;
}

/**
 * One event's SSE bytes, encoded once for everyone who gets the same copy. `chunked` carries
 * HTTP/1.1 chunk framing around the bytes, so a stream writes it to its socket in one call
 * instead of going through the response's per-write framing; `raw` is the same bytes without it
 * (an HTTP/1.0 client). `raw` is a view into `chunked`: no second copy.
 */
export class Frame {
	readonly chunked: Buffer;
	readonly raw: Buffer;

	constructor(text: string | Buffer) {
		const body = typeof text === 'string' ? Buffer.from(text) : text;
		const head = Buffer.from(`${body.length.toString(16)}\r\n`);
		this.chunked = Buffer.allocUnsafe(head.length + body.length + 2);
		head.copy(this.chunked, 0);
		body.copy(this.chunked, head.length);
		this.chunked.write('\r\n', head.length + body.length);
		this.raw = this.chunked.subarray(head.length, head.length + body.length);
	}
}

/** Streams a fan-out may write to at once instead of in the next pass. */
const DIRECT_MAX = 16;

interface Job {
	type: string;
	streams: number;
	arrivedAt: number;
}

/**
 * Writes frames to their audiences: `send` mostly only hands each target the shared frame
 * (cheap); a flush pass, on the next turn of the event loop, writes every target that holds
 * something, once, with everything it holds.
 *
 * - **Coalescing.** On loopback and in the kernel, a socket write costs far more than the bytes
 *   in it. Events that arrive while a pass is under way (a burst of changes, several pub/sub
 *   messages in one read) reach each socket together in the next write, as node:http's own
 *   per-tick cork does for a hand-written server. An event for a few streams while nothing
 *   waits is written at once; a big audience as soon as the loop turns.
 * - **Slices.** A pass writes for at most `sliceMs`, then lets the loop run (Redis replies, the
 *   node's lease refresh) before going on: a fan-out to 20,000 sockets never holds the loop long
 *   enough to get a busy node reaped as dead.
 * - **Order.** Each target keeps its frames in arrival order, so every stream sees its events
 *   in the order the node received them.
 */
export class FanoutWriter {
	/** Targets holding frames not yet written, in the order they became dirty. */
	#dirty: FrameTarget[] = [];
	/** Fan-outs whose targets are all in `#dirty` or the pass under way. */
	#jobs: Job[] = [];
	#scheduled = false;
	#sliceMs: number;
	#onDone: (type: string, streams: number, seconds: number) => void;

	constructor(options: {
		sliceMs?: number;
		onDone?: (type: string, streams: number, seconds: number) => void;
	}) {
		this.#sliceMs = options.sliceMs ?? 20;
		this.#onDone = options.onDone ?? (() => {});
	}

	/**
	 * Hands one frame to its audience. A small audience while nothing waits is written at once
	 * (a visitor coming online reaches the agent without waiting for the loop to turn), and what
	 * follows in the same turn waits for the pass; anything else waits for the pass.
	 */
	send(frame: Frame, targets: FrameTarget[], type: string, arrivedAt = performance.now()): void {
		if (targets.length === 0) return;
		if (!this.#scheduled && targets.length <= DIRECT_MAX) {
			for (const target of targets) {
				target.enqueue(frame);
				target.flush();
			}
			this.#onDone(type, targets.length, (performance.now() - arrivedAt) / 1000);
			this.#schedule();
			return;
		}
		const dirty = this.#dirty;
		for (const target of targets) if (target.enqueue(frame)) dirty.push(target);
		this.#jobs.push({ type, streams: targets.length, arrivedAt });
		this.#schedule();
	}

	/** Targets waiting for a write (0 while the node keeps up). */
	get backlog(): number {
		return this.#dirty.length;
	}

	#schedule(): void {
		if (this.#scheduled) return;
		this.#scheduled = true;
		setImmediate(this.#pass);
	}

	/** Writes the targets that are dirty now; what becomes dirty meanwhile waits for the next pass. */
	#pass = (): void => {
		const targets = this.#dirty;
		const jobs = this.#jobs;
		this.#dirty = [];
		this.#jobs = [];
		let next = 0;
		const slice = (): void => {
			const deadline = performance.now() + this.#sliceMs;
			while (next < targets.length) {
				targets[next++]!.flush();
				// A write costs µs, reading the clock far less: look every 16 writes, so a slice
				// overshoots by little even when a GC pause lands in it.
				if ((next & 15) === 0 && performance.now() > deadline) {
					setImmediate(slice);
					return;
				}
			}
			const done = performance.now();
			for (const job of jobs) this.#onDone(job.type, job.streams, (done - job.arrivedAt) / 1000);
			this.#scheduled = false;
			if (this.#dirty.length > 0 || this.#jobs.length > 0) this.#schedule();
		};
		slice();
	};
}
