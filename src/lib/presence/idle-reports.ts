/** Input that counts against idle (issue 13: keyboard, pointer or touch). */
const INPUT_EVENTS = ['keydown', 'pointerdown', 'pointermove', 'touchstart', 'wheel'] as const;

/** Sends `presence.idle` for one live connection. */
export type IdleCall = (connectionId: string, idle: boolean) => Promise<unknown>;

/**
 * Whether this tab is idle (no input for the server's idle time), told to the live connection
 * only when it differs from what that connection was told (docs/design.md §2: idle is per
 * connection, and a new connection starts active on the server).
 */
export class IdleReports {
	#connectionId: () => string | null;
	#call: IdleCall;
	#afterMs: number | null = null;
	#timer: ReturnType<typeof setTimeout> | null = null;
	#idle = false;
	/** The connection last told it is idle. */
	#sentTo: string | null = null;
	#detachInput: (() => void) | null = null;

	constructor(connectionId: () => string | null, call: IdleCall) {
		this.#connectionId = connectionId;
		this.#call = call;
	}

	get idle() {
		return this.#idle;
	}

	/** A new connection: it starts active, so an idle tab says so again at once. */
	connected(idleAfterMs: number | undefined) {
		this.#sentTo = null;
		if (idleAfterMs) this.#watchInput(idleAfterMs);
		if (this.#idle) this.#send();
	}

	destroy() {
		this.#detachInput?.();
		this.#detachInput = null;
		if (this.#timer) clearTimeout(this.#timer);
	}

	#watchInput(idleAfterMs: number) {
		this.#afterMs = idleAfterMs;
		if (this.#detachInput || typeof window === 'undefined') {
			this.#arm();
			return;
		}
		const onInput = () => {
			if (this.#idle) {
				this.#idle = false;
				this.#send();
			}
			this.#arm();
		};
		for (const type of INPUT_EVENTS) {
			window.addEventListener(type, onInput, { passive: true, capture: true });
		}
		this.#detachInput = () => {
			for (const type of INPUT_EVENTS) window.removeEventListener(type, onInput, { capture: true });
		};
		this.#arm();
	}

	#arm() {
		if (this.#timer) clearTimeout(this.#timer);
		if (this.#afterMs === null) return;
		this.#timer = setTimeout(() => {
			this.#idle = true;
			this.#send();
		}, this.#afterMs);
	}

	#send() {
		const connectionId = this.#connectionId();
		if (!connectionId) return;
		const told = this.#sentTo === connectionId;
		if (told === this.#idle) return;
		this.#sentTo = this.#idle ? connectionId : null;
		this.#call(connectionId, this.#idle).catch(() => {
			this.#sentTo = told ? connectionId : null;
		});
	}
}
