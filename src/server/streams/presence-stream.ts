import { tracked, TRPCError } from '@trpc/server';
import type { Services } from '../services';
import type { Identity } from '../trpc';
import { STREAM_CAP_MESSAGE } from './caps';
import { BoundedQueue } from './queue';
import {
	itemForViewer,
	openConnection,
	revokesSession,
	SIGNED_OUT,
	type StreamItem
} from './viewer-scope';

/**
 * One client's presence stream as a tRPC subscription (`presence.connect` in the router): what
 * the caller, the integration tests and `vite dev` use. In production the node's stream hub
 * (`hub.ts`) serves the same path with the same events (both decide them in `viewer-scope.ts`).
 *
 * In this order: listen (buffering), open the connection (register, scope, snapshot), `ready`,
 * then deltas. Listening first means no change falls between snapshot and deltas; a buffered
 * change whose version the snapshot already holds is dropped. Ends when the client goes, the
 * node shuts down, the engine declares the connection dead, or the client falls
 * `STREAM_QUEUE_LIMIT` behind. A reconnect always starts from a fresh snapshot here.
 */
export async function* presenceStream(
	services: Services,
	identity: Identity,
	signal: AbortSignal | undefined,
	clientAddress: string
) {
	const { presence, events, config, metrics } = services;
	const release = services.streamCaps.acquire(
		`${identity.workspaceId}:${identity.userId}`,
		clientAddress
	);
	if (!release) {
		metrics.streamRefused('cap');
		throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: STREAM_CAP_MESSAGE });
	}
	const closed = new AbortController();
	const stop = AbortSignal.any([
		closed.signal,
		services.shutdownSignal,
		...(signal ? [signal] : [])
	]);
	let reason: 'client' | 'overflow' | 'expired' | 'shutdown' = 'client';
	let counted = false;
	// Counted when it ends, not when its generator is next resumed (a stuck client never resumes it).
	const ended = (why: typeof reason) => {
		if (counted) return;
		counted = true;
		metrics.streamClosed(why, openedAt);
	};
	const queue = new BoundedQueue<StreamItem>(config.STREAM_QUEUE_LIMIT, stop, () => {
		reason = 'overflow';
		ended(reason);
		closed.abort();
	});
	const openedAt = metrics.streamOpened();

	let connectionId: string | null = null;
	try {
		// Until the viewer's scope is known everything is kept; from then on only what concerns
		// them, so a busy workspace does not fill the queues of streams it has nothing for.
		let concerns: (item: StreamItem) => boolean = () => true;
		const offer = (item: StreamItem) => {
			if (concerns(item)) queue.push(item);
		};
		await Promise.all([
			presence.listen(identity.workspaceId, (change) => offer({ kind: 'presence', change }), stop),
			events.listen(identity.workspaceId, (event) => offer({ kind: 'event', event }), stop),
			presence.listenTyping(
				identity.workspaceId,
				(change) => offer({ kind: 'typing', change }),
				stop
			),
			identity.kind === 'visitor'
				? services.team.watch(
						identity.workspaceId,
						(online) => offer({ kind: 'team', online }),
						stop
					)
				: null
		]);
		const opened = await openConnection(services, identity);
		({ connectionId } = opened);
		const { scope } = opened;
		concerns = (item) =>
			item.kind === 'presence'
				? scope.sees(item.change.userId)
				: item.kind === 'typing'
					? scope.seesTyping(item.change)
					: item.kind === 'team'
						? true
						: scope.receives(item.event);
		presence.watchExpiry(
			connectionId,
			() => {
				reason = 'expired';
				closed.abort();
			},
			stop
		);

		let seq = 0;
		const id = () => `${opened.connectionId}:${seq++}`;
		yield tracked(id(), opened.ready);

		for (;;) {
			const item = await queue.next();
			if (item === null) break;
			if (revokesSession(item, identity.sessionId)) throw SIGNED_OUT();
			const out = itemForViewer(opened.scope, item, opened.storedLastSeen, opened.held);
			if (!out) continue;
			metrics.eventWritten(out.type, 1);
			yield tracked(id(), out);
		}
	} finally {
		if (services.shutdownSignal.aborted && reason === 'client') reason = 'shutdown';
		ended(reason);
		release();
		closed.abort();
		queue.clear();
		if (connectionId) {
			await presence.disconnect(connectionId).catch((error: unknown) => {
				services.logger.warn(
					{ err: error, connectionId },
					'[stream] disconnect failed (the sweep will expire it)'
				);
			});
		}
	}
}
