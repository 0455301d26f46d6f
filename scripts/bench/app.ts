import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createClient, type PresenceClient } from '../../src/lib/client/node';
import { type StreamEvent, SESSION_COOKIE } from '../../src/lib/contract';
import { loadConfig } from '../../src/server/config';
import { createKysely } from '../../src/server/db/connect';
import { startAppNode, type AppNode } from '../../tests/support/app-process';
import { createWorkspace } from '../../tests/support/fixtures';
import {
	cpuMsOfPid,
	fmtBytes,
	fmtInt,
	fmtMs,
	now,
	ownCpuMs,
	percentile,
	perSecond,
	POSTGRES_URL,
	randomTag,
	REDIS_URL,
	rssOfPid,
	runPool,
	section,
	sleep,
	waitFor,
	type Report
} from './lib';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SECRET = 'bench-secret-bench-secret-bench-secret-00';

function newestMtime(dir: string): number {
	let newest = 0;
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		const full = path.join(dir, entry.name);
		newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
	}
	return newest;
}

/** The value the client hands to onData: a tracked envelope `{ id, data }`, or the event itself. */
function unwrap(value: unknown): StreamEvent {
	if (value && typeof value === 'object' && 'data' in value && 'id' in value) {
		return (value as { data: StreamEvent }).data;
	}
	return value as StreamEvent;
}

interface OpenStream {
	ready: Promise<string>;
	/** Arrival time of the newest presence event about `watched`, and its version. */
	lastAt: number;
	lastVersion: number;
	ended: boolean;
	unsubscribe(): void;
}

function openStream(client: PresenceClient, watched: string | null, onChange: () => void) {
	let resolveReady!: (connectionId: string) => void;
	let rejectReady!: (error: unknown) => void;
	const stream: OpenStream = {
		ready: new Promise<string>((resolve, reject) => {
			resolveReady = resolve;
			rejectReady = reject;
		}),
		lastAt: 0,
		lastVersion: 0,
		ended: false,
		unsubscribe: () => sub.unsubscribe()
	};
	const sub = client.presence.connect.subscribe(undefined, {
		onData(value) {
			const event = unwrap(value);
			if (event.type === 'ready') {
				const known = event.snapshot.find((p) => p.userId === watched);
				if (known) stream.lastVersion = known.version;
				resolveReady(event.connectionId);
			} else if (event.type === 'presence' && event.userId === watched) {
				if (event.version > stream.lastVersion) {
					stream.lastVersion = event.version;
					stream.lastAt = now();
					onChange();
				}
			}
		},
		onError(error) {
			stream.ended = true;
			rejectReady(error);
		},
		onComplete() {
			stream.ended = true;
		}
	});
	return stream;
}

/**
 * 5. One real app node (the build): `streams` visitors each hold an SSE stream; one agent (a
 * participant of every visitor's conversation, so visible to all of them) changes focus; the
 * time for each change to reach every stream, and the node's RSS per stream.
 */
export async function benchApp(
	report: Report,
	options: { prefix: string; streams: number; changes: number; openConcurrency: number }
) {
	const { streams: count, changes } = options;
	section(
		`5. Stream fan-out through one app node: ${fmtInt(count)} visitor SSE streams, ${changes} agent focus changes`
	);
	const S = '5 app';
	if (!existsSync(path.join(ROOT, 'build/index.js'))) {
		report.note('build/index.js is missing: run `npm run build` first; section 5 skipped');
		return null;
	}
	if (newestMtime(path.join(ROOT, 'src')) > statSync(path.join(ROOT, 'build/index.js')).mtimeMs) {
		report.note('some file under src/ is newer than build/: the node runs the last build');
	}

	const dbName = `bench_${randomTag()}`;
	const admin = new pg.Client({ connectionString: POSTGRES_URL });
	await admin.connect();
	await admin.query(`create database ${dbName}`);
	await admin.end();
	const dbUrl = new URL(POSTGRES_URL);
	dbUrl.pathname = `/${dbName}`;
	const db = createKysely(dbUrl.toString(), 4);
	let node: AppNode | null = null;
	const open: OpenStream[] = [];
	try {
		node = await startAppNode({
			DATABASE_URL: dbUrl.toString(),
			REDIS_URL,
			REDIS_KEY_PREFIX: options.prefix,
			SESSION_SECRET: SECRET,
			// No client heartbeats needed within the bench: a long timeout keeps every stream alive.
			PRESENCE_HEARTBEAT_INTERVAL_MS: '300000',
			PRESENCE_HEARTBEAT_TIMEOUT_MS: '600000'
		});
		const pid = node.process.pid!;
		const t0 = now();
		const workspace = await createWorkspace(
			{ db, config: loadConfig({ SESSION_SECRET: SECRET }) },
			{ agents: 1, visitors: count }
		);
		report.add(
			S,
			'fixture: visitors created in SQL',
			fmtInt(count),
			`${fmtMs(now() - t0)} (widget.session allows 30/min per address)`
		);
		const agent = workspace.agents[0]!;
		const agentClient = createClient({
			url: node.trpcUrl,
			auth: { agentCookie: `${SESSION_COOKIE}=${agent.sessionToken}` }
		});
		const agentStream = openStream(agentClient, null, () => {});
		open.push(agentStream);
		const agentConnection = await agentStream.ready;
		await sleep(300);
		const rssBefore = rssOfPid(pid);

		let arrivals = 0;
		// Two halves, to show how the cost of opening a stream grows with the streams already open.
		const half = Math.floor(count / 2);
		const openOne = async (i: number) => {
			const visitor = workspace.visitors[i]!;
			const client = createClient({
				url: node!.trpcUrl,
				auth: { visitorToken: visitor.visitorToken }
			});
			const stream = openStream(client, agent.id, () => arrivals++);
			open.push(stream);
			await stream.ready;
		};
		const halves: { elapsedMs: number; latencies: Float64Array; nodeCpu: number }[] = [];
		let benchCpu = ownCpuMs();
		for (const [from, size] of [
			[0, half],
			[half, count - half]
		] as const) {
			const cpu = cpuMsOfPid(pid);
			const run = await runPool(size, options.openConcurrency, (i) => openOne(from + i));
			halves.push({ ...run, nodeCpu: cpuMsOfPid(pid) - cpu });
		}
		benchCpu = ownCpuMs() - benchCpu;
		const opened = {
			elapsedMs: halves[0]!.elapsedMs + halves[1]!.elapsedMs,
			latencies: Float64Array.from([...halves[0]!.latencies, ...halves[1]!.latencies])
		};
		const openNodeCpu = halves[0]!.nodeCpu + halves[1]!.nodeCpu;
		report.add(
			S,
			'streams opened/s (to ready)',
			fmtInt(perSecond(count, opened.elapsedMs)),
			`${options.openConcurrency} opening at once; p99 ${fmtMs(percentile(opened.latencies, 99))} to ready`
		);
		report.add(
			S,
			'node CPU per stream opened: 1st / 2nd half',
			`${fmtMs(halves[0]!.nodeCpu / Math.max(1, half))} / ${fmtMs(halves[1]!.nodeCpu / (count - half))}`,
			`bench client ${fmtMs(benchCpu / count)}; node busy ${Math.round((100 * openNodeCpu) / opened.elapsedMs)}% of a core`
		);
		await sleep(1000);
		const rssAfter = rssOfPid(pid);
		report.add(
			S,
			'node RSS per open stream',
			fmtBytes((rssAfter - rssBefore) / count),
			`VmRSS ${fmtBytes(rssBefore)} -> ${fmtBytes(rssAfter)}`
		);

		const visitors = open.slice(1);
		const toAll: number[] = [];
		const pooled: number[] = [];
		let incomplete = 0;
		const target = workspace.visitors[0]!.conversationId;
		const fanCpu = { node: cpuMsOfPid(pid), bench: ownCpuMs() };
		for (let c = 0; c < changes; c++) {
			const before = arrivals;
			const sent = now();
			await agentClient.presence.focus.mutate({
				connectionId: agentConnection,
				conversationId: c % 2 === 0 ? target : null
			});
			const complete = await waitFor(() => arrivals - before >= count, 15_000, 1);
			if (!complete) incomplete++;
			let last = 0;
			for (const stream of visitors) {
				if (stream.lastAt < sent) continue;
				pooled.push(stream.lastAt - sent);
				last = Math.max(last, stream.lastAt - sent);
			}
			toAll.push(last);
			await sleep(100);
		}
		const fanNodeCpu = cpuMsOfPid(pid) - fanCpu.node;
		const fanBenchCpu = ownCpuMs() - fanCpu.bench;
		const deliveries = changes * count;
		report.add(
			S,
			'CPU per delivered event: node / bench client',
			`${(fanNodeCpu / deliveries).toFixed(3)} / ${(fanBenchCpu / deliveries).toFixed(3)} ms`,
			`${fmtInt(fanNodeCpu)} / ${fmtInt(fanBenchCpu)} ms CPU for ${fmtInt(deliveries)} deliveries (incl. 100 ms pauses)`
		);
		const ended = visitors.filter((s) => s.ended).length;
		report.add(
			S,
			'change -> all streams, p50 / p99',
			`${fmtMs(percentile(toAll, 50))} / ${fmtMs(percentile(toAll, 99))}`,
			`over ${changes} changes, each to ${fmtInt(count)} streams; from sending the mutation`
		);
		report.add(
			S,
			'change -> one stream, p50 / p99 (pooled)',
			`${fmtMs(percentile(pooled, 50))} / ${fmtMs(percentile(pooled, 99))}`,
			`${fmtInt(pooled.length)} deliveries; ${incomplete} changes incomplete after 15 s; ${ended} streams ended`
		);
		return {
			streams: count,
			rssPerStream: (rssAfter - rssBefore) / count,
			toAllP50: percentile(toAll, 50),
			toAllP99: percentile(toAll, 99),
			oneP50: percentile(pooled, 50),
			oneP99: percentile(pooled, 99),
			openPerSec: perSecond(count, opened.elapsedMs)
		};
	} finally {
		for (const stream of open) stream.unsubscribe();
		await node?.stop();
		await db.destroy();
		const drop = new pg.Client({ connectionString: POSTGRES_URL });
		await drop.connect();
		await drop.query(`drop database if exists ${dbName} with (force)`);
		await drop.end();
	}
}
