import type { ChatMessage } from '../../lib/contract';
import { participantsOf } from '../db/conversations';
import { insertMessage, markDelivered, markRead, unreadCount } from '../db/messages';
import { publishEvent } from '../events/publish';
import type { WorkspaceEvent } from '../events/types';
import type { Services } from '../services';
import type { Identity } from '../trpc';

/**
 * Smart delivery (docs/design.md §5). A message is pushed on every participant's stream; it is
 * `delivered` to each recipient with a live connection (their delivered mark moves, and the
 * `message` event names them); a recipient whose tab shows this conversation open and visible
 * ("chatting with the sender") reads it at once and the sender gets a `read` event. A focus a
 * reloaded tab only inherited does not count: that tab has not said yet that it shows the chat.
 * Offline recipients find it unread when they return, and loading it then delivers it
 * (`deliverLoaded`). Presence of all recipients: one batch read.
 */
export async function sendMessage(
	services: Services,
	sender: Identity,
	conversationId: string,
	body: string
): Promise<{ message: ChatMessage; delivered: boolean; deliveredTo: string[] }> {
	const { db, presence } = services;
	const row = await insertMessage(db, { conversationId, senderId: sender.userId, body });
	const participants = await participantsOf(db, conversationId);
	const everyone = participants.map((p) => p.id);
	const recipients = everyone.filter((id) => id !== sender.userId);
	const states = recipients.length
		? await presence.read(sender.workspaceId, recipients)
		: new Map();

	const message: ChatMessage = {
		id: row.id,
		conversationId,
		senderId: sender.userId,
		senderName: participants.find((p) => p.id === sender.userId)?.display_name ?? '',
		body: row.body,
		createdAt: row.created_at.toISOString()
	};
	const deliveredTo = recipients.filter((id) => states.get(id)?.isOnline);
	const readers = recipients.filter((id) => {
		const state = states.get(id);
		return state?.isOnline && state.focusConversationId === conversationId && !state.focusInherited;
	});

	await markDelivered(db, conversationId, deliveredTo, row.created_at);
	await publishEvent(services, sender.workspaceId, {
		type: 'message',
		conversationId,
		recipients: everyone,
		message,
		deliveredTo
	});
	// After the message: a viewer never sees typing end with nothing arrived. The engine never
	// throws here (Redis away: the deadline still ends it).
	await presence.stopTyping(sender.workspaceId, sender.userId, conversationId);
	if (readers.length) {
		await markRead(db, conversationId, readers, row.created_at);
		for (const readerId of readers) {
			await publishEvent(services, sender.workspaceId, {
				type: 'read',
				conversationId,
				recipients: everyone,
				readerId,
				at: message.createdAt
			});
		}
	}
	return { message, delivered: deliveredTo.length > 0, deliveredTo };
}

/**
 * `reader` loaded the conversation up to its newest message at `newest`: whatever had not
 * reached them (sent while they were away) now has. The other participants hear it once, when
 * the mark moved.
 */
export async function deliverLoaded(
	services: Services,
	reader: Identity,
	conversationId: string,
	newest: Date
) {
	const moved = await markDelivered(services.db, conversationId, [reader.userId], newest);
	if (moved.length === 0) return;
	await tellParticipants(services, reader.workspaceId, conversationId, {
		type: 'delivered',
		userId: reader.userId,
		at: newest.toISOString()
	});
}

/** Marks the conversation read for `reader` and tells the other participants. */
export async function markConversationRead(
	services: Services,
	reader: Identity,
	conversationId: string
) {
	const at = new Date();
	await markRead(services.db, conversationId, [reader.userId], at);
	await tellParticipants(services, reader.workspaceId, conversationId, {
		type: 'read',
		readerId: reader.userId,
		at: at.toISOString()
	});
	return { at: at.toISOString() };
}

/** Opening the chat reads what is there: only when something was unread, to keep focus cheap. */
export async function markReadOnFocus(
	services: Services,
	reader: Identity,
	conversationId: string
) {
	if ((await unreadCount(services.db, conversationId, reader.userId)) === 0) return;
	await markConversationRead(services, reader, conversationId);
}

/** A receipt (read or delivered) sent to everyone in the conversation, the reader included. */
type Receipt = Extract<WorkspaceEvent, { type: 'read' | 'delivered' }>;

async function tellParticipants(
	services: Services,
	workspaceId: string,
	conversationId: string,
	receipt: DistributiveOmit<Receipt, 'conversationId' | 'recipients'>
) {
	const participants = await participantsOf(services.db, conversationId);
	await publishEvent(services, workspaceId, {
		...receipt,
		conversationId,
		recipients: participants.map((p) => p.id)
	} as Receipt);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
