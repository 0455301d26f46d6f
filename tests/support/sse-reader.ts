import { request as httpRequest, type ClientRequest } from 'node:http';
import { type StreamEvent, SESSION_COOKIE, VISITOR_TOKEN_HEADER } from '../../src/lib/contract';
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
	#request: ClientRequest | null = null;
	#waiters = new Waiters<WireEvent>();
	ended = false;

	/** `socketPath`: dial a Unix socket instead of the URL's host (the URL gives the path). */
	constructor(url: string, headers: Record<string, string>, options: { socketPath?: string } = {}) {
		this.status = new Promise((resolve, reject) => {
			const target = new URL(url);
			const request = httpRequest(
				{
					socketPath: options.socketPath,
					host: options.socketPath ? undefined : target.hostname,
					port: options.socketPath ? undefined : target.port,
					path: target.pathname + target.search,
					headers: { accept: 'text/event-stream', ...headers }
				},
				(response) => {
					resolve(response.statusCode ?? 0);
					const decoder = new TextDecoder();
					let buffer = '';
					response.on('data', (chunk: Buffer) => {
						buffer += decoder.decode(chunk, { stream: true });
						let end: number;
						while ((end = buffer.indexOf('\n\n')) >= 0) {
							const block = buffer.slice(0, end);
							buffer = buffer.slice(end + 2);
							if (block.trim()) this.#push(block);
						}
					});
					response.on('close', () => (this.ended = true));
				}
			);
			request.on('error', (error) => {
				this.ended = true;
				reject(error);
			});
			request.end();
			this.#request = request;
		});
		this.status.catch(() => {});
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
		this.#request?.destroy();
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
