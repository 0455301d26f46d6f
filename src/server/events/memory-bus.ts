import type { ConsoleLogger } from '../log';
import { ListenerSet } from '../../lib/listener-set';
import type { EventBus, WorkspaceEvent } from './types';

/** The single-process bus (embedded default): delivery is a function call. */
export class MemoryEventBus implements EventBus {
	#listeners: ListenerSet<WorkspaceEvent>;

	constructor(logger: Pick<ConsoleLogger, 'error'> = console) {
		this.#listeners = new ListenerSet({
			onError: (error) => logger.error('[events] a listener threw:', error)
		});
	}

	async publish(workspaceId: string, event: WorkspaceEvent): Promise<void> {
		this.#listeners.emit(workspaceId, event);
	}

	listen(workspaceId: string, listener: (event: WorkspaceEvent) => void, signal: AbortSignal) {
		return this.#listeners.add(workspaceId, listener, signal);
	}

	async close(): Promise<void> {}
}
