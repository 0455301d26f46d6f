/**
 * Benchmarks of the presence product on this machine (`npm run bench`). They print figures and
 * never assert on timing. Everything runs on loopback against the local Redis and Postgres,
 * under a Redis key prefix of its own (`bench:<random>:`), deleted at the end (SCAN + UNLINK).
 *
 * Flags (or environment variables BENCH_<NAME>, e.g. BENCH_CONNECTIONS=100000):
 *   --connections=20000   section 1: engine connections (one per person)
 *   --workspaces=200      section 1: workspaces they spread over
 *   --concurrency=500     calls in flight in sections 1-4
 *   --read-people=1000    section 2: people per read
 *   --reads=500           section 2: reads
 *   --sweep=5000          section 3: connections left without heartbeats
 *   --sweep-workspaces=50 section 3: workspaces of the spread layout (the other is one workspace)
 *   --crash=5000          section 4: connections of the crashed node
 *   --crash-workspaces=50 section 4: their workspaces
 *   --streams=2000        section 5: SSE streams through one app node (0 = skip)
 *   --changes=20          section 5: presence changes to time
 *   --seed=1              section 7: the truth run's script (every action and fault follows from it)
 *   --truth-visitors=200  section 7: simulated visitors (0 = skip)
 *   --truth-agents=4      section 7: simulated agents
 *   --truth-seconds=100   section 7: seconds of scripted activity (then a few to settle)
 *   --truth-null-focus=1  section 7: 1 = a new connection reports its focus, `null` included, as
 *                         PresenceConnection does; 0 = the older client that never sent a null focus
 *   --stream-levels=2000,10000,19500  section 6: SSE streams on one node (app and floor)
 *   --stream-idle-ms=15000            section 6: window of the idle CPU figure
 *   --stream-propagation=200          section 6: visitors timed from connect on A to agent on B
 *   --stream-open-concurrency=200     section 6: opens in flight (over all client processes)
 *   --stream-open-budget-ms=150000    section 6: longest the app may take to reach one count
 *   --stream-fanout-timeout-ms=30000  section 6: longest one event's fan-out is waited for
 *   --stream-time-budget-ms=360000    section 6: whole section; counts the app cannot reach in
 *                                     time are reported as not attempted
 *   --only=1,2,3,4,5,6,7  sections to run; `npm run bench -- streams` is `--only=6`,
 *                         `npm run bench -- truth` (or `--only=truth`) is `--only=7`
 */
import os from 'node:os';
import { benchApp } from './app';
import { benchEngine, benchRead } from './engine';
import { APP_TIMINGS, dropPrefix, fmtBytes, fmtInt, fmtMs, now, randomTag, Report } from './lib';
import type { PresenceTimings } from '../../src/server/presence';
import { benchStreams, streamsSummary } from './streams';
import { benchCrash, benchSweep, type SweepResult } from './sweep';
import { benchTruth, TRUTH_TIMINGS } from './truth';

function option(name: string, fallback: number): number {
	const flag = process.argv.find((arg) => arg.startsWith(`--${name}=`));
	const raw =
		flag?.slice(name.length + 3) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
	if (raw === undefined || raw === '') return fallback;
	const value = Number(raw);
	if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be an integer >= 0`);
	return value;
}

const opts = {
	connections: option('connections', 20_000),
	workspaces: option('workspaces', 200),
	concurrency: Math.max(1, option('concurrency', 500)),
	readPeople: Math.max(2, option('read-people', 1000)),
	reads: Math.max(1, option('reads', 500)),
	sweep: option('sweep', 5000),
	sweepWorkspaces: Math.max(1, option('sweep-workspaces', 50)),
	crash: option('crash', 5000),
	crashWorkspaces: Math.max(1, option('crash-workspaces', 50)),
	streams: option('streams', 2000),
	changes: Math.max(1, option('changes', 20)),
	seed: option('seed', 1),
	truthVisitors: option('truth-visitors', 200),
	truthAgents: Math.max(1, option('truth-agents', 4)),
	truthSeconds: Math.max(10, option('truth-seconds', 100)),
	truthNullFocus: option('truth-null-focus', 1) === 1
};
function listOption(name: string, fallback: number[]): number[] {
	const flag = process.argv.find((arg) => arg.startsWith(`--${name}=`));
	const raw =
		flag?.slice(name.length + 3) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
	if (raw === undefined || raw === '') return fallback;
	const values = raw.split(',').map((v) => Number(v.trim()));
	if (values.some((v) => !Number.isInteger(v) || v < 1)) {
		throw new Error(`--${name} must be a comma-separated list of integers >= 1`);
	}
	return values;
}

const streamOpts = {
	levels: listOption('stream-levels', [2000, 10_000, 19_500]),
	idleMs: Math.max(1000, option('stream-idle-ms', 15_000)),
	propagation: option('stream-propagation', 200),
	openConcurrency: Math.max(1, option('stream-open-concurrency', 200)),
	appOpenBudgetMs: Math.max(1000, option('stream-open-budget-ms', 150_000)),
	fanoutTimeoutMs: Math.max(1000, option('stream-fanout-timeout-ms', 30_000)),
	timeBudgetMs: Math.max(60_000, option('stream-time-budget-ms', 360_000))
};
/** Sections by name as well as number (`npm run bench -- streams`). */
const SECTION_NAMES: Record<string, string> = { streams: '6', truth: '7' };
const named = process.argv
	.slice(2)
	.filter((arg) => !arg.startsWith('-'))
	.map((arg) => SECTION_NAMES[arg] ?? arg);
const onlyFlag =
	process.argv.find((arg) => arg.startsWith('--only='))?.slice(7) ??
	(named.length ? named.join(',') : undefined) ??
	process.env.BENCH_ONLY;
const only = new Set(
	(onlyFlag ?? '1,2,3,4,5,6,7').split(',').map((s) => SECTION_NAMES[s.trim()] ?? s.trim())
);

const SWEEP_TIMINGS: PresenceTimings = { ...APP_TIMINGS, graceMs: 0, heartbeatTimeoutMs: 2000 };

async function main() {
	const prefix = `bench:${randomTag()}:`;
	const report = new Report();
	const started = now();
	console.log(
		`presence bench: node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}; Redis and Postgres on 127.0.0.1; prefix ${prefix}`
	);
	console.log(
		`options: ${JSON.stringify(only.has('6') ? { ...opts, ...streamOpts } : opts)}; sections ${[...only].join(',')}`
	);

	let engine: Awaited<ReturnType<typeof benchEngine>> | null = null;
	let read: Awaited<ReturnType<typeof benchRead>> | null = null;
	const sweeps: SweepResult[] = [];
	let crash: Awaited<ReturnType<typeof benchCrash>> | null = null;
	let app: Awaited<ReturnType<typeof benchApp>> | null = null;
	let truth: Awaited<ReturnType<typeof benchTruth>> | null = null;
	let streams: Awaited<ReturnType<typeof benchStreams>> | null = null;
	try {
		if (only.has('1') && opts.connections > 0) {
			engine = await benchEngine(report, {
				prefix: `${prefix}eng:`,
				connections: opts.connections,
				workspaces: Math.max(1, opts.workspaces),
				concurrency: opts.concurrency
			});
		}
		if (only.has('2')) {
			read = await benchRead(report, {
				prefix: `${prefix}read:`,
				people: opts.readPeople,
				reads: opts.reads,
				concurrency: opts.concurrency
			});
		}
		if (only.has('3') && opts.sweep > 0) {
			for (const workspaces of [opts.sweepWorkspaces, 1]) {
				sweeps.push(
					await benchSweep(report, {
						prefix: `${prefix}sweep${workspaces}:`,
						connections: opts.sweep,
						workspaces,
						concurrency: opts.concurrency,
						timings: SWEEP_TIMINGS
					})
				);
			}
		}
		if (only.has('4') && opts.crash > 0) {
			crash = await benchCrash(report, {
				prefix: `${prefix}crash:`,
				connections: opts.crash,
				workspaces: opts.crashWorkspaces,
				concurrency: opts.concurrency,
				timings: APP_TIMINGS
			});
		}
		if (only.has('5') && opts.streams > 0) {
			app = await benchApp(report, {
				prefix: `${prefix}app:`,
				streams: opts.streams,
				changes: opts.changes,
				openConcurrency: 50
			});
		}
		if (only.has('6') && streamOpts.levels.length) {
			streams = await benchStreams(report, {
				prefix: `${prefix}streams:`,
				perClient: 7000,
				propagationAt: 10_000,
				...streamOpts,
				onInterrupt: () => dropPrefix(prefix)
			});
		}
		if (only.has('7') && opts.truthVisitors > 0) {
			truth = await benchTruth(report, {
				seed: opts.seed,
				visitors: opts.truthVisitors,
				agents: opts.truthAgents,
				durationMs: opts.truthSeconds * 1000,
				reportNullFocus: opts.truthNullFocus
			});
		}
	} finally {
		const deleted = await dropPrefix(prefix);
		console.log(`\ncleanup: unlinked ${deleted} keys under ${prefix}`);
	}

	console.log(`\n== Results (${fmtMs(now() - started)} in all)\n`);
	console.log(report.table());
	for (const text of report.notes) console.log(`note: ${text}`);

	const md: string[] = [
		`Measured with \`npm run bench\` on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}, local Redis and Postgres; one process drives the load, so figures are lower bounds for a node.`,
		''
	];
	if (engine) {
		md.push(
			`- **Engine** (one node, ${fmtInt(opts.connections)} connections over ${opts.workspaces} workspaces, ${opts.concurrency} calls in flight): ` +
				`${fmtInt(engine.connectsPerSec)} connects/s, ${fmtInt(engine.heartbeatsPerSec)} heartbeats/s, ` +
				`${fmtInt(engine.focusPerSec)} focus and ${fmtInt(engine.pagePerSec)} page reports/s, ${fmtInt(engine.disconnectsPerSec)} disconnects/s; ` +
				`${fmtBytes(engine.rssPerConnection)} RSS (${fmtBytes(engine.heapPerConnection)} heap) per connection on the node.`
		);
	}
	if (read) {
		md.push(
			`- **Batch read** of ${fmtInt(opts.readPeople)} people: p50 ${fmtMs(read.p50)}, p99 ${fmtMs(read.p99)}, ${read.commandsPerRead} Redis command per read (MGET).`
		);
	}
	for (const s of sweeps) {
		md.push(
			`- **Sweep** (${s.layout}, heartbeat timeout ${SWEEP_TIMINGS.heartbeatTimeoutMs} ms, sweep ${SWEEP_TIMINGS.sweepIntervalMs} ms, two nodes): ` +
				`all offline ${fmtMs(s.afterLastDeadline)} after the last deadline (per person p50 ${fmtMs(s.lagP50)}, p99 ${fmtMs(s.lagP99)}); ` +
				`${fmtInt(s.exactlyOnce)}/${fmtInt(s.total)} people with exactly one offline event.`
		);
	}
	if (crash) {
		md.push(
			`- **Node crash** (${fmtInt(opts.crash)} connections, lease TTL ${APP_TIMINGS.leaseTtlMs} ms, sweep ${APP_TIMINGS.sweepIntervalMs} ms): ` +
				`first offline after ${fmtMs(crash.first)}, all after ${fmtMs(crash.all)} (bound ${crash.bound} ms); ` +
				`${fmtInt(crash.exactlyOnce)}/${fmtInt(crash.total)} exactly once.`
		);
	}
	if (app) {
		md.push(
			`- **Streams** through one app node (${fmtInt(app.streams)} visitor SSE streams, one agent's focus change visible to all): ` +
				`reaches every stream in p50 ${fmtMs(app.toAllP50)}, p99 ${fmtMs(app.toAllP99)} (one stream: p50 ${fmtMs(app.oneP50)}, p99 ${fmtMs(app.oneP99)}); ` +
				`${fmtBytes(app.rssPerStream)} RSS per stream; ${fmtInt(app.openPerSec)} streams opened/s.`
		);
	}
	if (truth) {
		const t = TRUTH_TIMINGS;
		const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
		md.push(
			`- **Truth** (seed ${truth.seed}: 3 app nodes, ${truth.visitors} visitors and ${truth.agents} agents over HTTP for ${opts.truthSeconds} s, two node SIGKILLs and a Redis restart; grace ${t.graceMs} ms, heartbeat ${t.heartbeatIntervalMs}/${t.heartbeatTimeoutMs} ms, lease ${t.leaseTtlMs} ms, sweep ${t.sweepIntervalMs} ms): ` +
				`max ghost after a crash ${fmtMs(truth.ghostCrashMax)} (target ${t.leaseTtlMs + t.sweepIntervalMs} ms, ${mark(truth.ghostCrashOver === 0)}), after a lost client ${fmtMs(truth.ghostLostMax)} (target ${t.heartbeatTimeoutMs + t.sweepIntervalMs} ms, ${mark(truth.ghostLostOver === 0)}); ` +
				`offline after a clean close p50 ${fmtMs(truth.closeP50)}, p99 ${fmtMs(truth.closeP99)}; ` +
				`${fmtInt(truth.flickers)} flickers (target 0, ${mark(truth.flickers === 0)}), ${fmtInt(truth.stale)} stale states (target 0, ${mark(truth.stale === 0)}), ` +
				`${truth.greenSeconds.toFixed(1)} s shown green while present but not chatting, ${truth.greenOverSeconds.toFixed(1)} s of it beyond 1 s in ${fmtInt(truth.greenOverCount)} spells, ${fmtInt(truth.greenOverCount - truth.greenOverBy.redis)} of them outside the 10 s after the Redis restart (target 0, ${mark(truth.greenOverCount - truth.greenOverBy.redis === 0)}; longest outside ${fmtMs(truth.greenOverMaxOutside)}), ` +
				`${fmtInt(truth.falseReads)} of ${fmtInt(truth.reads)} read marks while unseen (target 0, ${mark(truth.falseReads === 0)}), ` +
				`${fmtInt(truth.missing)} acknowledged messages missing from a live view (${truth.missingMessages} of ${fmtInt(truth.messages)} messages; target 0, ${mark(truth.missing === 0)}).`
		);
	}
	if (streams) md.push(...streamsSummary(streams));
	console.log('\n== Summary (markdown, for the README under "Benchmarks")\n');
	console.log(md.join('\n'));
}

main().then(
	() => process.exit(0),
	(error: unknown) => {
		console.error(error);
		process.exit(1);
	}
);
