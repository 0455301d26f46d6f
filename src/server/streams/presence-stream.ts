import { tracked } from '@trpc/server';
import type { StreamEvent } from '../../lib/events';
import { audienceOf, conversationIdsOf } from '../db/conversations';
import type { WorkspaceEvent } from '../events/types';
import type { PresenceChange } from '../presence/types';
import type { Services } from '../services';
import type { Identity } from '../trpc';
import { offlineState } from '../presence';
import { updateFor } from '../viewer';
import { BoundedQueue } from './queue';

type Incoming =
	{ kind: 'presence'; change: PresenceChange } | { kind: 'event'; event: WorkspaceEvent };

/**
 * One client's presence stream (`presence.connect`, DESIGN section 3). In this order:
 * listen (buffering), register the connection, read the snapshot, send `ready`, then deltas.
 * Listening first means no change can fall between snapshot and deltas; a buffered change whose
 * version the snapshot already holds is dropped. Ends when the client goes, the node shuts down,
 * the engine declares the connection dead, or the client falls `STREAM_QUEUE_LIMIT` behind.
 */
export async function* presenceStream(
	services: Services,
	identity: Identity,
	signal: AbortSignal | undefined
) {
	const { presence, events, db, config } = services;
	const closed = new AbortController();
	const stop = AbortSignal.any([
		closed.signal,
		services.shutdownSignal,
		...(signal ? [signal] : [])
	]);
	const { metrics } = services;
	const queue = new BoundedQueue<Incoming>(config.STREAM_QUEUE_LIMIT, stop, () => {
		metrics.streamsOverflowed++;
		closed.abort();
	});
	metrics.streamsOpen++;

	let connectionId: string | null = null;
	try {
		// Until the viewer's audience is known everything is kept; from then on only what concerns
		// them, so a busy workspace does not fill the queues of streams it has nothing for.
		let concerns: (item: Incoming) => boolean = () => true;
		const offer = (item: Incoming) => {
			if (concerns(item)) queue.push(item);
		};
		await Promise.all([
			presence.listen(identity.workspaceId, (change) => offer({ kind: 'presence', change }), stop),
			events.listen(identity.workspaceId, (event) => offer({ kind: 'event', event }), stop)
		]);
		const [audience, conversationIds] = await Promise.all([
			audienceOf(db, identity),
			conversationIdsOf(db, identity.userId)
		]);
		const mine = new Set(conversationIds);
		const visible = new Set(audience.map((person) => person.id));
		const storedLastSeen = new Map(audience.map((person) => [person.id, person.last_seen_at]));
		concerns = (item) =>
			item.kind === 'presence'
				? visible.has(item.change.userId)
				: item.event.recipients.includes(identity.userId);

		({ connectionId } = await presence.connect({
			workspaceId: identity.workspaceId,
			userId: identity.userId
		}));
		presence.watchExpiry(connectionId, () => closed.abort(), stop);

		const states = await presence.read(identity.workspaceId, [...visible]);
		const held = new Map<string, number>();
		const snapshot = [...visible].map((userId) => {
			const state = states.get(userId);
			held.set(userId, state?.version ?? 0);
			return updateFor(state ?? offlineState(userId), mine, storedLastSeen.get(userId) ?? null);
		});
		let seq = 0;
		const id = () => `${connectionId}:${seq++}`;
		const ready: StreamEvent = {
			type: 'ready',
			connectionId,
			snapshot,
			heartbeatIntervalMs: config.PRESENCE_HEARTBEAT_INTERVAL_MS
		};
		yield tracked(id(), ready);

		for (;;) {
			const item = await queue.next();
			if (item === null) break;
			const out = toStreamEvent(item, identity, mine, visible, held, storedLastSeen);
			if (!out) continue;
			metrics.eventsDelivered++;
			yield tracked(id(), out);
		}
	} finally {
		metrics.streamsOpen--;
		closed.abort();
		queue.clear();
		if (connectionId) {
			await presence.disconnect(connectionId).catch((error: unknown) => {
				console.warn('[stream] disconnect failed (the sweep will expire it):', error);
			});
		}
	}
}

/** Filters one incoming item for this viewer (DESIGN section 6) and shapes it for the wire. */
function toStreamEvent(
	item: Incoming,
	identity: Identity,
	mine: Set<string>,
	visible: Set<string>,
	held: Map<string, number>,
	storedLastSeen: Map<string, Date | null>
): StreamEvent | null {
	if (item.kind === 'presence') {
		const { change } = item;
		if (!visible.has(change.userId)) return null;
		// Out-of-order or already in the snapshot: the viewer holds something as new.
		if (change.version <= (held.get(change.userId) ?? 0)) return null;
		held.set(change.userId, change.version);
		return {
			type: 'presence',
			...updateFor(change, mine, storedLastSeen.get(change.userId) ?? null)
		};
	}
	const { event } = item;
	if (!event.recipients.includes(identity.userId)) return null;
	switch (event.type) {
		case 'conversation':
			// A new visitor's conversation: from now on their presence and focus concern this viewer.
			mine.add(event.conversationId);
			for (const userId of event.recipients) visible.add(userId);
			return {
				type: 'conversation',
				conversationId: event.conversationId,
				visitorId: event.visitorId
			};
		case 'message':
			return { type: 'message', conversationId: event.conversationId, message: event.message };
		case 'read':
			return {
				type: 'read',
				conversationId: event.conversationId,
				readerId: event.readerId,
				at: event.at
			};
		case 'preview':
			return { type: 'preview', userId: event.userId, at: event.at };
	}
}
