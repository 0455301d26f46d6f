import type { PresenceEngine } from './presence/types';

/** Why a presence stream ended: `client` went away, or the server ended it. */
export type StreamCloseReason = 'client' | 'overflow' | 'expired' | 'shutdown' | 'cap' | 'error';

/**
 * The node's own figures, exposed as Prometheus text on /metrics (DESIGN section 7). Callers
 * report what happened through these methods; how it is counted stays in this file. Every method
 * is cheap enough for the hot path (no per-stream labels, no allocation per call).
 */
export class Metrics {
	/** Open presence streams on this node (one per live client tab). */
	streamsOpen = 0;
	/** Streams closed because their client fell too far behind. */
	streamsOverflowed = 0;
	/** Events written to this node's streams (one per stream an event reached). */
	eventsDelivered = 0;
	/** Workspace events (messages, reads, …) this node published. */
	eventsPublished = 0;
	/** Redis calls of this node's routers that failed. */
	redisErrors = 0;

	streamOpened(): void {
		this.streamsOpen++;
	}

	streamClosed(reason: StreamCloseReason): void {
		this.streamsOpen--;
		if (reason === 'overflow') this.streamsOverflowed++;
	}

	/** An open refused before it became a stream (a cap, bad auth): it never counted as open. */
	streamRefused(_reason: 'cap' | 'unauthorized' | 'bad_request'): void {}

	/** One event of `type` written to `streams` streams. */
	eventWritten(_type: string, streams: number): void {
		this.eventsDelivered += streams;
	}

	/** One fan-out: how long it took from arrival to the last socket written, and how many streams. */
	fanout(_seconds: number, _streams: number): void {}

	eventPublished(): void {
		this.eventsPublished++;
	}

	redisError(_operation: string): void {
		this.redisErrors++;
	}
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
