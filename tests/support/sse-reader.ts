import type { StreamEvent } from '../../src/lib/events';
import { SESSION_COOKIE, VISITOR_TOKEN_HEADER } from '../../src/lib/protocol';
import { Waiters } from './waiters';

/** One SSE event as it came over the wire. */
export interface WireEvent {
	event: string | null;
	data: string;
	id: string | null;
	/** `data` parsed, for unnamed (value) events. */
	value: StreamEvent | null;
}

/**
 * A presence stream read byte by byte (no tRPC client): for tests of the wire itself (ids,
 * resume, pings, who got what).
 */
export class RawStream {
	readonly events: WireEvent[] = [];
	readonly status: Promise<number>;
	#controller = new AbortController();
	#waiters = new Waiters<WireEvent>();
	ended = false;

	constructor(url: string, headers: Record<string, string>) {
		this.status = this.#read(url, headers);
		this.status.catch(() => {});
	}

	async #read(url: string, headers: Record<string, string>): Promise<number> {
		const response = await fetch(url, {
			headers: { accept: 'text/event-stream', ...headers },
			signal: this.#controller.signal
		});
		void (async () => {
			const decoder = new TextDecoder();
			let buffer = '';
			try {
				for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
					buffer += decoder.decode(chunk, { stream: true });
					let end: number;
					while ((end = buffer.indexOf('\n\n')) >= 0) {
						const block = buffer.slice(0, end);
						buffer = buffer.slice(end + 2);
						if (block.trim()) this.#push(block);
					}
				}
			} catch {
				// Aborted by close().
			} finally {
				this.ended = true;
			}
		})();
		return response.status;
	}

	#push(block: string) {
		const event: WireEvent = { event: null, data: '', id: null, value: null };
		let data: string[] | null = null;
		for (const line of block.split('\n')) {
			const colon = line.indexOf(':');
			const field = colon < 0 ? line : line.slice(0, colon);
			const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
			if (field === 'event') event.event = value;
			else if (field === 'data') (data ??= []).push(value);
			else if (field === 'id') event.id = value;
		}
		if (data === null) return; // `retry:` and comments dispatch nothing
		event.data = data.join('\n');
		if (event.event === null) event.value = JSON.parse(event.data) as StreamEvent;
		this.events.push(event);
		this.#waiters.offer(event);
	}

	/** The first event (received or to come) that passes `test`. */
	next(test: (e: WireEvent) => boolean, timeoutMs = 10_000): Promise<WireEvent> {
		const found = this.events.find(test);
		if (found) return Promise.resolve(found);
		return this.#waiters.wait(test, timeoutMs, () => JSON.stringify(this.events.slice(-5)));
	}

	value(type: StreamEvent['type'], timeoutMs?: number) {
		return this.next((e) => e.value?.type === type, timeoutMs);
	}

	/** Values received so far. */
	values(): StreamEvent[] {
		return this.events.flatMap((e) => (e.value ? [e.value] : []));
	}

	close() {
		this.#controller.abort();
	}
}

/** A raw presence stream as a visitor (token header) or an agent (session cookie). */
export function openRawStream(
	trpcUrl: string,
	who: { visitorToken?: string; sessionToken?: string },
	extraHeaders: Record<string, string> = {}
): RawStream {
	const headers: Record<string, string> = { ...extraHeaders };
	if (who.visitorToken) headers[VISITOR_TOKEN_HEADER] = who.visitorToken;
	if (who.sessionToken) headers.cookie = `${SESSION_COOKIE}=${who.sessionToken}`;
	return new RawStream(`${trpcUrl}/presence.connect`, headers);
}
