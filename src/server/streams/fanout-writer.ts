/** Something a frame can be written to: a hub stream. */
export interface FrameTarget {
	write(frame: Frame): void;
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

interface Job {
	frame: Frame;
	targets: FrameTarget[];
	next: number;
	type: string;
	arrivedAt: number;
}

/**
 * Writes frames to their audiences in arrival order, in slices of at most `sliceMs`: a fan-out
 * to 20,000 sockets never holds the event loop long enough to starve Redis replies or the node's
 * lease refresh (a starved lease gets a busy node reaped as dead). Jobs run strictly in order,
 * so every stream sees its events in the order the node received them.
 */
export class FanoutWriter {
	#jobs: (Job | undefined)[] = [];
	#head = 0;
	#running = false;
	#sliceMs: number;
	#onDone: (type: string, streams: number, seconds: number) => void;

	constructor(options: {
		sliceMs?: number;
		onDone?: (type: string, streams: number, seconds: number) => void;
	}) {
		this.#sliceMs = options.sliceMs ?? 20;
		this.#onDone = options.onDone ?? (() => {});
	}

	/** Queues one frame for its audience; written at once unless earlier fan-outs are still going. */
	send(frame: Frame, targets: FrameTarget[], type: string, arrivedAt = performance.now()): void {
		if (targets.length === 0) return;
		this.#jobs.push({ frame, targets, next: 0, type, arrivedAt });
		if (!this.#running) this.#run();
	}

	/** Fan-outs still being written (0 while the node keeps up). */
	get backlog(): number {
		return this.#jobs.length - this.#head;
	}

	#run = (): void => {
		this.#running = true;
		const deadline = performance.now() + this.#sliceMs;
		while (this.#head < this.#jobs.length) {
			const job = this.#jobs[this.#head]!;
			const { targets, frame } = job;
			while (job.next < targets.length) {
				targets[job.next++]!.write(frame);
				// Reading the clock costs more than a write: look every 64 writes.
				if ((job.next & 63) === 0 && performance.now() > deadline) {
					setImmediate(this.#run);
					return;
				}
			}
			this.#jobs[this.#head++] = undefined;
			const done = performance.now();
			this.#onDone(job.type, targets.length, (done - job.arrivedAt) / 1000);
			if (done > deadline && this.#head < this.#jobs.length) {
				setImmediate(this.#run);
				return;
			}
		}
		this.#jobs = [];
		this.#head = 0;
		this.#running = false;
	};
}
