import { MemoryEventBus } from '../events/memory-bus';
import { MemoryRateLimiter } from '../limits/rate-limiter';
import { MemoryPresenceEngine } from '../presence';
import { MemoryPreviewStore } from '../previews/store';
import type { Backend, BackendOptions } from './backend';

/** One process holds everything: the embedded default when no Redis is found (one node only). */
export function memoryBackend(options: BackendOptions): Backend {
	return {
		presence: new MemoryPresenceEngine({
			timings: options.timings,
			lastSeen: options.lastSeen,
			logger: options.logger
		}),
		events: new MemoryEventBus(options.logger),
		previews: new MemoryPreviewStore(),
		limiter: new MemoryRateLimiter(),
		redis: null,
		incarnation: () => undefined,
		describe: 'the single-process presence backend (one node only)',
		close: () => {}
	};
}
