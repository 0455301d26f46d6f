import { TRPCError } from '@trpc/server';
import { ensureConversation } from '../db/people';
import { publishEvent } from '../events/publish';
import type { Services } from '../services';

/**
 * The visitor's conversation, created on first need (their first message, or an agent starting
 * one from the visitors list) and the same one ever after. A new one is announced, so agents'
 * open streams learn of it (and so of this visitor's presence).
 */
export async function startConversation(
	services: Services,
	workspaceId: string,
	visitorId: string
): Promise<{ conversationId: string; created: boolean }> {
	const started = await ensureConversation(services.db, workspaceId, visitorId);
	if (!started) throw new TRPCError({ code: 'NOT_FOUND', message: 'No such visitor' });
	if (started.created) {
		await publishEvent(services, workspaceId, {
			type: 'conversation',
			conversationId: started.conversationId,
			recipients: started.participantIds,
			visitorId
		});
	}
	return { conversationId: started.conversationId, created: started.created };
}
