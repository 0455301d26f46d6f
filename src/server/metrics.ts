import type { PresenceEngine } from './presence/types';

/** Counters of one node, exposed as Prometheus text on /metrics (DESIGN section 7). */
export class Metrics {
	/** Open presence streams on this node (one per live client tab). */
	streamsOpen = 0;
	/** Streams closed because their client fell too far behind. */
	streamsOverflowed = 0;
	/** Events written to this node's streams. */
	eventsDelivered = 0;
	/** Workspace events (messages, reads, …) this node published. */
	eventsPublished = 0;
	/** Redis calls of this node's routers that failed. */
	redisErrors = 0;
}

export async function renderMetrics(services: {
	metrics: Metrics;
	presence: PresenceEngine;
}): Promise<string> {
	const { metrics } = services;
	const lines: string[] = [];
	const gauge = (name: string, help: string, value: number, type = 'gauge') => {
		lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
	};
	gauge('presence_streams_open', 'Open presence streams on this node', metrics.streamsOpen);
	gauge(
		'presence_streams_overflowed_total',
		'Streams closed for falling behind',
		metrics.streamsOverflowed,
		'counter'
	);
	gauge(
		'presence_events_delivered_total',
		'Events written to streams',
		metrics.eventsDelivered,
		'counter'
	);
	gauge(
		'presence_events_published_total',
		'Workspace events published',
		metrics.eventsPublished,
		'counter'
	);
	gauge(
		'presence_router_redis_errors_total',
		'Failed Redis calls in routers',
		metrics.redisErrors,
		'counter'
	);
	const engine = await services.presence.stats();
	for (const [name, value] of Object.entries(engine)) {
		gauge(`presence_engine_${name}`, `Presence engine: ${name.replace(/_/g, ' ')}`, value);
	}
	return lines.join('\n') + '\n';
}
