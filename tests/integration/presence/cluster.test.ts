import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { RedisPresenceEngine, type PresenceTimings } from '../../../src/server/presence';
import { silentLogger } from '../../../src/server/presence/shared/logger';
import { RedisEventBus } from '../../../src/server/events/redis-bus';
import type { WorkspaceEvent } from '../../../src/server/events/types';
import { startRedisCluster, type RedisClusterHandle } from '../../support/redis-server';
import { testKeyPrefix } from '../../support/redis';
import { describeAvailabilityContract } from './availability-contract';
import { describeContract } from './contract';
import { contractTimings, redisEngineUnderTest } from './engine-under-test';
import {
	assertVersionsIncrease,
	COMMAND_TIMEOUT_MS,
	listen,
	RecordingStore,
	uniqueId,
	waitFor
} from './helpers';

/**
 * "Cluster-ready", proven: a local 3-master Redis Cluster (no replicas), the same contract
 * suite as against one Redis, with `RedisPresenceEngine` on ioredis `Cluster` clients (command
 * client and subscriber); then two nodes sharing the cluster, with workspaces on every shard.
 */

let cluster: RedisClusterHandle | null = null;
const clients: Cluster[] = [];

beforeAll(async () => {
	cluster = await startRedisCluster(3);
});

afterAll(async () => {
	for (const client of clients.splice(0)) client.disconnect();
	await cluster?.cleanup();
	cluster = null;
});

/** Like the app's clients (helpers.ts `redisClient`), for a cluster. */
async function clusterClient(): Promise<Cluster> {
	if (!cluster) throw new Error('the cluster did not start');
	const client = new Cluster(cluster.nodes, {
		lazyConnect: true,
		clusterRetryStrategy: (attempt) => Math.min(attempt * 50, 300),
		redisOptions: {
			commandTimeout: COMMAND_TIMEOUT_MS,
			connectTimeout: 1000,
			maxRetriesPerRequest: 1
		}
	});
	client.on('error', () => {});
	clients.push(client);
	await client.connect();
	return client;
}

function close(client: Cluster) {
	client.disconnect();
	const i = clients.indexOf(client);
	if (i >= 0) clients.splice(i, 1);
}

const contractPrefix = testKeyPrefix();

describeContract('redis cluster', async (timings) => {
	const redis = await clusterClient();
	const subscriber = await clusterClient();
	return redisEngineUnderTest({
		redis,
		subscriber,
		keyPrefix: contractPrefix,
		timings,
		close: () => {
			close(redis);
			close(subscriber);
		}
	});
});

// The availability script writes the summary key only: one slot, like every workspace script.
describeAvailabilityContract('redis cluster', async (timings) => {
	const redis = await clusterClient();
	const subscriber = await clusterClient();
	return redisEngineUnderTest({
		redis,
		subscriber,
		keyPrefix: contractPrefix,
		timings,
		close: () => {
			close(redis);
			close(subscriber);
		}
	});
});

describe('redis cluster: two nodes', () => {
	const prefix = testKeyPrefix();
	const timings: PresenceTimings = contractTimings();
	const aborts: AbortController[] = [];
	const engines: RedisPresenceEngine[] = [];

	afterEach(async () => {
		for (const controller of aborts.splice(0)) controller.abort();
		for (const engine of engines.splice(0)) await engine.stop();
	});

	function signal() {
		const controller = new AbortController();
		aborts.push(controller);
		return controller.signal;
	}

	/** Node A gets an explicit subscriber; node B duplicates its command client (the default). */
	async function twoNodes() {
		const redisA = await clusterClient();
		const subscriberA = await clusterClient();
		const redisB = await clusterClient();
		const common = { keyPrefix: prefix, timings, logger: silentLogger };
		const a = new RedisPresenceEngine({
			...common,
			redis: redisA,
			subscriber: subscriberA,
			lastSeen: new RecordingStore(),
			nodeId: 'cluster-a'
		});
		const b = new RedisPresenceEngine({
			...common,
			redis: redisB,
			lastSeen: new RecordingStore(),
			nodeId: 'cluster-b'
		});
		engines.push(a, b);
		await Promise.all([a.start(), b.start()]);
		return { a, b, redisA, subscriberA, redisB };
	}

	/** Master address ("host:port") serving a key's slot, as the client's slot table says. */
	async function masterOf(client: Cluster, key: string): Promise<string> {
		const slot = (await client.cluster('KEYSLOT', key)) as number;
		const owner = client.slots[slot]?.[0];
		if (!owner) throw new Error(`no master for slot ${slot}`);
		return owner;
	}

	/** One workspace per master, so the checks cross shards whatever shard a subscriber sits on. */
	async function workspaceOnEveryShard(client: Cluster): Promise<string[]> {
		const masters = client.nodes('master').map((n) => `${n.options.host}:${n.options.port}`);
		expect(masters).toHaveLength(3);
		const byMaster = new Map<string, string>();
		for (let i = 0; byMaster.size < masters.length; i++) {
			if (i > 1000) throw new Error('could not place a workspace on every shard');
			const ws = uniqueId('ws');
			const owner = await masterOf(client, `${prefix}{${ws}}:`);
			if (!byMaster.has(owner)) byMaster.set(owner, ws);
		}
		expect([...byMaster.keys()].sort()).toEqual([...masters].sort());
		return [...byMaster.values()];
	}

	/** Summed `INFO commandstats` / `errorstats` counters over every master. */
	async function serverStats(client: Cluster) {
		const perNode = await Promise.all(
			client.nodes('master').map(async (node) => {
				const info = `${await node.info('commandstats')}\n${await node.info('errorstats')}`;
				const mget = /cmdstat_mget:calls=(\d+)[^\n]*failed_calls=(\d+)/.exec(info);
				const crossslot = /errorstat_CROSSSLOT:count=(\d+)/.exec(info);
				return {
					node: `${node.options.host}:${node.options.port}`,
					mgetCalls: Number(mget?.[1] ?? 0),
					mgetFailed: Number(mget?.[2] ?? 0),
					crossslot: Number(crossslot?.[1] ?? 0)
				};
			})
		);
		return new Map(perNode.map((s) => [s.node, s]));
	}

	it('changes made through node A reach listeners on node B, on every shard', async () => {
		const { a, b, redisA } = await twoNodes();
		const workspaces = await workspaceOnEveryShard(redisA);
		for (const ws of workspaces) {
			const onB = await listen(b, ws, signal());
			const onA = await listen(a, ws, signal());

			const { connectionId, change } = await a.connect({ workspaceId: ws, userId: 'u1' });
			expect(change).toMatchObject({ workspaceId: ws, userId: 'u1', isOnline: true });
			await waitFor(() => onB.of('u1').length === 1, `B sees u1 online in ${ws}`);
			expect(onB.last('u1')).toMatchObject({ isOnline: true, version: change!.version });

			const focused = await a.focus(connectionId, 'conv-1');
			expect(focused).toMatchObject({ focusConversationId: 'conv-1' });
			await waitFor(() => onB.last('u1')?.focusConversationId === 'conv-1', 'B sees the focus');

			// No sticky sessions: B serves a heartbeat and a page report for A's connection.
			expect(await b.heartbeat(connectionId, 'u1')).toBe(true);
			expect(await b.owner(connectionId)).toEqual({ workspaceId: ws, userId: 'u1' });
			const paged = await b.page(connectionId, {
				url: 'https://example.test/pricing',
				title: 'Pricing'
			});
			expect(paged).toMatchObject({ currentPage: { url: 'https://example.test/pricing' } });
			await waitFor(
				() => onA.last('u1')?.currentPage?.url === 'https://example.test/pricing',
				'A sees the page reported through B'
			);

			expect(await a.disconnect(connectionId)).toBeNull(); // grace
			await waitFor(() => onB.last('u1')?.isOnline === false, 'B sees u1 offline after the grace');
			expect(onB.last('u1')).toMatchObject({ focusConversationId: null, currentPage: null });
			expect(onB.events.map((e) => e.isOnline)).toEqual([true, true, true, false]);
			expect(assertVersionsIncrease(onB.events)).toBeNull();
			// A's listener gets the same offline event over its own subscription, not necessarily first.
			await waitFor(() => onA.events.length === onB.events.length, 'A sees u1 offline too');
			expect(onA.events).toEqual(onB.events);
		}
		expect((await a.stats()).errors_total).toBe(0);
		expect((await b.stats()).errors_total).toBe(0);
	});

	it('a 1,000-person read is one MGET on the workspace shard, never CROSSSLOT', async () => {
		const { a, b, redisA, redisB } = await twoNodes();
		const [ws] = await workspaceOnEveryShard(redisA);
		await a.connect({ workspaceId: ws!, userId: 'p7' });
		await a.connect({ workspaceId: ws!, userId: 'p999' });
		const ids = Array.from({ length: 1000 }, (_, i) => `p${i}`);

		const before = await serverStats(redisB);
		const states = await b.read(ws!, ids);
		const after = await serverStats(redisB);

		expect(states.size).toBe(1000);
		expect(
			[...states.values()]
				.filter((s) => s.isOnline)
				.map((s) => s.userId)
				.sort()
		).toEqual(['p7', 'p999']);
		// Counted by the servers themselves: exactly one MGET, served by the shard owning the
		// workspace's slot, none failed, no CROSSSLOT error anywhere.
		const shard = await masterOf(redisB, `${prefix}{${ws}}:`);
		for (const [node, stats] of after) {
			const was = before.get(node)!;
			expect(stats.mgetCalls - was.mgetCalls, node).toBe(node === shard ? 1 : 0);
			expect(stats.mgetFailed - was.mgetFailed, node).toBe(0);
			expect(stats.crossslot - was.crossslot, node).toBe(0);
		}
		expect((await b.stats()).errors_total).toBe(0);

		// The check above can fail: keys of two workspaces in one MGET are refused.
		const [, other] = await workspaceOnEveryShard(redisA);
		await expect(redisB.mget(`${prefix}{${ws}}:s:p7`, `${prefix}{${other}}:s:p7`)).rejects.toThrow(
			/CROSSSLOT/
		);
	});

	it('the workspace event bus on cluster clients: published on A, delivered on B', async () => {
		const { redisA, subscriberA, redisB } = await twoNodes();
		const subscriberB = await clusterClient();
		const busA = new RedisEventBus({
			publisher: redisA,
			subscriber: subscriberA,
			keyPrefix: prefix
		});
		const busB = new RedisEventBus({
			publisher: redisB,
			subscriber: subscriberB,
			keyPrefix: prefix
		});
		try {
			for (const ws of await workspaceOnEveryShard(redisA)) {
				const received: WorkspaceEvent[] = [];
				await busB.listen(ws, (e) => received.push(e), signal());
				const event: WorkspaceEvent = {
					type: 'conversation',
					conversationId: `conv-${ws}`,
					recipients: ['u1'],
					visitorId: 'v1'
				};
				await busA.publish(ws, event);
				await waitFor(() => received.length === 1, `B's bus gets the event of ${ws}`);
				expect(received).toEqual([event]);
			}
		} finally {
			await busA.close();
			await busB.close();
		}
	});
});
