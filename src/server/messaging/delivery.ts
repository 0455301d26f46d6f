import type { ChatMessage } from '../../lib/events';
import { participantsOf } from '../db/conversations';
import { insertMessage, markRead, unreadCount } from '../db/messages';
import { publishEvent } from '../events/publish';
import type { Services } from '../services';
import type { Identity } from '../trpc';

/**
 * Smart delivery (DESIGN section 5). A message is pushed on every participant's stream; it is
 * `delivered` when a recipient has a live connection; a recipient focused on this conversation
 * ("chatting with the sender") reads it at once and the sender gets a `read` event. Offline
 * recipients find it unread when they return. Presence of all recipients: one batch read.
 */
export async function sendMessage(
	services: Services,
	sender: Identity,
	conversationId: string,
	body: string
): Promise<{ message: ChatMessage; delivered: boolean }> {
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
	const delivered = recipients.some((id) => states.get(id)?.isOnline);
	const readers = recipients.filter((id) => {
		const state = states.get(id);
		return state?.isOnline && state.focusConversationId === conversationId;
	});

	await publishEvent(services, sender.workspaceId, {
		type: 'message',
		conversationId,
		recipients: everyone,
		message
	});
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
	return { message, delivered };
}

/** Marks the conversation read for `reader` and tells the other participants. */
export async function markConversationRead(
	services: Services,
	reader: Identity,
	conversationId: string
) {
	const at = new Date();
	await markRead(services.db, conversationId, [reader.userId], at);
	const participants = await participantsOf(services.db, conversationId);
	await publishEvent(services, reader.workspaceId, {
		type: 'read',
		conversationId,
		recipients: participants.map((p) => p.id),
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
