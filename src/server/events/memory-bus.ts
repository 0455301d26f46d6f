import { ListenerSet } from './listeners';
import type { EventBus, WorkspaceEvent } from './types';

/** The single-process bus (embedded default): delivery is a function call. */
export class MemoryEventBus implements EventBus {
	#listeners = new ListenerSet<WorkspaceEvent>();

	async publish(workspaceId: string, event: WorkspaceEvent): Promise<void> {
		this.#listeners.emit(workspaceId, event);
	}

	listen(workspaceId: string, listener: (event: WorkspaceEvent) => void, signal: AbortSignal) {
		return this.#listeners.add(workspaceId, listener, signal);
	}

	async close(): Promise<void> {}
}
