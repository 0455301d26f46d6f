import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Frame, type FrameTarget } from './fanout-writer';
import type { StreamItem, ViewerScope } from './viewer-scope';

/**
 * One open presence stream of the hub: the socket, the viewer and what they may see. No
 * generator, web stream, promise chain, timer or AbortController: the hub writes shared frames
 * to it and tells it when to end.
 */
export class HubStream implements FrameTarget {
	readonly res: ServerResponse;
	readonly socket: Socket;
	readonly workspaceId: string;
	readonly userId: string;
	/** An agent's session: the stream ends when it is revoked. */
	readonly sessionId: string | undefined;
	/** The hub's sequence number when the stream started listening: the id of its `ready`. */
	readonly openedAt: number;
	/** Unsent bytes past which the stream is closed (its client resyncs). */
	readonly limit: number;
	/**
	 * Unsent bytes allowed on top of `limit` while the stream's first write (its `ready`, which
	 * for an agent of a large workspace is megabytes of snapshot) is still on its way: a client
	 * reading it is not one that stopped reading. Zero once the socket has drained below `limit`.
	 */
	#allowance = 0;
	scope: ViewerScope | null = null;
	connectionId: string | null = null;
	/** Items that arrived while the stream was opening, replayed after `ready`; null once live. */
	pending: { seq: number; item: StreamItem }[] | null = [];
	/**
	 * People whose snapshot version may be newer than a change still on its way over pub/sub:
	 * such a change is dropped for this stream. Usually empty (then null).
	 */
	ahead: Map<string, number> | null = null;
	closed = false;
	/** Which of the hub's ping groups it is pinged with. */
	pingGroup = 0;
	/** When it opened (monotonic ms, from the metrics): how long streams live. */
	openedAtMs = 0;
	/** Gives back its place under the per-person and per-address caps. */
	release: () => void = () => {};
	#hub: { overflow(stream: HubStream): void };
	/** True when frames go straight to the socket (the response owns it and its headers are out). */
	#direct: boolean;
	#chunked: boolean;
	/** `serve` corked the socket before the headers: nothing is sent until `uncork`. */
	#corked: boolean;
	/** Frames handed over and not yet written (the writer flushes them on its next pass). */
	#outbox: Frame | Frame[] | null = null;

	constructor(options: {
		res: ServerResponse;
		workspaceId: string;
		userId: string;
		sessionId?: string;
		openedAt: number;
		limit: number;
		hub: { overflow(stream: HubStream): void };
	}) {
		this.res = options.res;
		this.socket = options.res.socket as Socket;
		this.workspaceId = options.workspaceId;
		this.userId = options.userId;
		this.sessionId = options.sessionId;
		this.openedAt = options.openedAt;
		this.limit = options.limit;
		this.#hub = options.hub;
		const owner = (this.socket as Socket & { _httpMessage?: unknown })._httpMessage;
		this.#direct = owner === this.res && this.res.headersSent;
		this.#chunked = this.res.chunkedEncoding;
		this.#corked = this.socket.writableCorked > 0;
	}

	enqueue(frame: Frame): boolean {
		const held = this.#outbox;
		if (held === null) {
			this.#outbox = frame;
			return true;
		}
		if (held instanceof Frame) this.#outbox = [held, frame];
		else held.push(frame);
		return false;
	}

	/** Writes what `enqueue` kept, in one socket write. */
	flush(): void {
		const held = this.#outbox;
		if (held === null) return;
		this.#outbox = null;
		if (this.closed) return;
		// A socket that still holds this much has not drained since: its client is not reading.
		const unsent = this.socket.writableLength;
		if (unsent > this.limit + this.#allowance) {
			this.#hub.overflow(this);
			return;
		}
		if (unsent <= this.limit) this.#allowance = 0;
		if (held instanceof Frame) return this.#send(held);
		// Corked, the frames leave in one writev: one system call for the whole burst.
		this.socket.cork();
		for (const frame of held) this.#send(frame);
		this.socket.uncork();
	}

	/** Writes the stream's first frame (`ready` or `resumed`, and what came meanwhile) now. */
	writeFirst(frame: Frame): void {
		this.write(frame);
		this.#allowance = frame.raw.length;
	}

	/** Writes `frame` now, after anything still kept. */
	write(frame: Frame): void {
		this.enqueue(frame);
		this.flush();
	}

	#send(frame: Frame): void {
		if (this.#direct) this.socket.write(this.#chunked ? frame.chunked : frame.raw);
		else this.res.write(frame.raw);
	}

	/** Sends what `serve` held back in the socket since the stream started (once; then a no-op). */
	uncork(): void {
		if (this.#corked) {
			this.#corked = false;
			this.socket.uncork();
		}
	}

	/** The version this stream already has of a person's presence, when a snapshot set one. */
	isStale(userId: string, version: number): boolean {
		const ahead = this.ahead;
		if (ahead === null) return false;
		const held = ahead.get(userId);
		if (held === undefined) return false;
		if (version <= held) return true;
		// Versions reach a node in order: from here on every change is newer.
		ahead.delete(userId);
		if (ahead.size === 0) this.ahead = null;
		return false;
	}
}
