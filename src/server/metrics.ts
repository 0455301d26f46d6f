/** Counters of one node, exposed as Prometheus text on /metrics (DESIGN section 7). */
export class Metrics {
	streamsOpen = 0;
	streamsOverflowed = 0;
	eventsDelivered = 0;
	eventsPublished = 0;
	redisErrors = 0;
}
