import type { PresenceClient } from '../../src/lib/client';
import { StreamReader } from './stream-reader';

/**
 * A presence stream opened through the exported client, behaving like a real client: it
 * heartbeats at the interval the server sends in `ready` (until unsubscribed or ended).
 */
export interface ClientStream {
	reader: StreamReader;
	/** Resolves with the `ready` event. */
	ready: ReturnType<StreamReader['ready']>;
	/** True once the stream completed or failed for good (the client gave up on it). */
	ended(): boolean;
	/**
	 * True once the stream stopped delivering: ended, or the server closed it without `return`
	 * (node shutdown, overflow, expiry) and the link is reconnecting by itself.
	 */
	lost(): boolean;
	unsubscribe(): void;
}

export function openClientStream(client: PresenceClient): ClientStream {
	const reader = new StreamReader();
	let ended = false;
	let reconnecting = false;
	let timer: ReturnType<typeof setInterval> | undefined;
	const stop = () => {
		ended = true;
		clearInterval(timer);
	};
	const sub = client.presence.connect.subscribe(undefined, {
		onData: (value) => reader.push(value),
		onComplete: stop,
		onError: stop,
		onConnectionStateChange: (state) => {
			if (state.state === 'connecting' && state.error) reconnecting = true;
		}
	});
	const ready = reader.ready();
	void ready.then(
		(event) => {
			timer = setInterval(() => {
				client.presence.heartbeat.mutate({ connectionId: event.connectionId }).catch(() => {});
			}, event.heartbeatIntervalMs);
		},
		() => {}
	);
	return {
		reader,
		ready,
		ended: () => ended,
		lost: () => ended || reconnecting,
		unsubscribe() {
			clearInterval(timer);
			sub.unsubscribe();
		}
	};
}
