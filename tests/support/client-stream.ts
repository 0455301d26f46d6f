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
	/** True once the server ended the stream (or it failed). */
	ended(): boolean;
	unsubscribe(): void;
}

export function openClientStream(client: PresenceClient): ClientStream {
	const reader = new StreamReader();
	let ended = false;
	let timer: ReturnType<typeof setInterval> | undefined;
	const stop = () => {
		ended = true;
		clearInterval(timer);
	};
	const sub = client.presence.connect.subscribe(undefined, {
		onData: (value) => reader.push(value),
		onComplete: stop,
		onError: stop
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
		unsubscribe() {
			clearInterval(timer);
			sub.unsubscribe();
		}
	};
}
