import { ListenerSet } from './listeners';
import type { BusEvent, EventBus, WorkspaceEvent } from './types';

/** The single-process bus (embedded default): delivery is a function call. */
export class MemoryEventBus implements EventBus {
	#listeners = new ListenerSet<BusEvent>();

	async publish(workspaceId: string, event: BusEvent): Promise<void> {
		this.#listeners.emit(workspaceId, event);
	}

	listen(workspaceId: string, listener: (event: WorkspaceEvent) => void, signal: AbortSignal) {
		// Listeners typed for WorkspaceEvent also get session-revoked notices (see SessionRevokedEvent).
		return this.#listeners.add(workspaceId, listener as (event: BusEvent) => void, signal);
	}

	async close(): Promise<void> {}
}
