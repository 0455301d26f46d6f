import type { Redis } from 'ioredis';
import type { RedisClient } from '../presence/redis/client';

/**
 * Gathers a burst of independent commands into few socket writes. The first command after a
 * quiet spell is sent at once and opens a window of `holdMs`; commands that come while it is
 * open wait for its end and then leave together, in one write, and open the next window. So a
 * lone command (a visitor coming online) is never delayed, and under a burst (hundreds of
 * streams opening per second, a node's heartbeats) a command waits at most `holdMs`.
 *
 * Why: on loopback or a virtual machine, a write that wakes Redis costs the node about 0.1 ms of
 * CPU, more than anything else an open does. The event loop accepts one connection per turn
 * (libuv), so the opens of a burst arrive in turns of their own and the end-of-turn coalescing
 * of `coalesceWrites` never sees two of them together: a window spanning turns does.
 *
 * Only for commands whose order relative to other commands does not matter for their
 * connection (the window keeps its own commands in order).
 */
export class BurstWindow {
	#client: RedisClient;
	#holdMs: number;
	/** When the latest write left (performance.now()): the window lasts `holdMs` from it. */
	#sentAt = -Infinity;
	/** Commands waiting for the window to end. */
	#waiting: (() => void)[] = [];

	constructor(client: RedisClient, holdMs: number) {
		this.#client = client;
		this.#holdMs = holdMs;
	}

	send<T>(command: () => Promise<T>): Promise<T> {
		const now = performance.now();
		// No timer for a lone command: it is someone coming online, and every µs shows.
		if (this.#waiting.length === 0 && now - this.#sentAt >= this.#holdMs) {
			this.#sentAt = now;
			return command();
		}
		if (this.#waiting.length === 0) setTimeout(this.#end, this.#sentAt + this.#holdMs - now);
		return new Promise<T>((resolve, reject) => {
			this.#waiting.push(() => command().then(resolve, reject));
		});
	}

	#end = (): void => {
		const waiting = this.#waiting;
		this.#waiting = [];
		// They open the next window: what comes within it waits for it to end.
		this.#sentAt = performance.now();
		// One Redis: its socket corked while they are sent, so they leave in one write (uncorked
		// at the end of the turn by `coalesceWrites`, or here). A Cluster routes each command to
		// its node, where `coalesceWrites` gathers what follows the first.
		const socket = this.#client.isCluster ? null : corkable(this.#client as Redis);
		socket?.cork();
		try {
			for (const send of waiting) send();
		} finally {
			socket?.uncork();
		}
	};
}

function corkable(client: Redis): Redis['stream'] | null {
	return client.status === 'ready' && client.stream.writable ? client.stream : null;
}
