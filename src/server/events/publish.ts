import type { Services } from '../services';
import type { WorkspaceEvent } from './types';

/**
 * Publishes a workspace event for the write that caused it. A bus failure never fails that
 * write (the message or preview is stored; streams resync on reconnect): it is counted and logged.
 */
export async function publishEvent(
	services: Pick<Services, 'events' | 'metrics' | 'logger'>,
	workspaceId: string,
	event: WorkspaceEvent
): Promise<void> {
	try {
		await services.events.publish(workspaceId, event);
		services.metrics.eventPublished();
	} catch (error) {
		services.metrics.redisError(`publish ${event.type}`);
		services.logger.warn(
			{ err: error, type: event.type, workspaceId },
			'[events] publishing failed'
		);
	}
}
