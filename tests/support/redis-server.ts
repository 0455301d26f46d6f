import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A throwaway `redis-server` for fault tests: started on a spare port with no persistence,
 * so a restart comes back empty. Kill, pause (SIGSTOP), resume (SIGCONT) and restart it;
 * `cleanup()` (call it in afterAll) always kills it.
 */
export interface RedisServerHandle {
	port: number;
	url: string;
	/** SIGKILL: connections drop at once. */
	kill(): Promise<void>;
	/** SIGSTOP: the socket stays open, nothing answers. */
	pause(): void;
	resume(): void;
	/** Kills (if running) and starts again on the same port, empty. */
	restart(): Promise<void>;
	cleanup(): Promise<void>;
}

async function sparePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}

/** PING over a raw socket: no client library state to clean up. */
function ping(port: number, timeoutMs = 300): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = new Socket();
		const done = (ok: boolean) => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(timeoutMs, () => done(false));
		socket.once('error', () => done(false));
		socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
		socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
	});
}

export async function startRedisServer(binary = 'redis-server'): Promise<RedisServerHandle> {
	const port = await sparePort();
	let child: ChildProcess | null = null;
	const live = new Set<ChildProcess>();

	async function launch() {
		const proc = spawn(
			binary,
			['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
			{ stdio: 'ignore' }
		);
		live.add(proc);
		proc.once('exit', () => live.delete(proc));
		child = proc;
		const deadline = Date.now() + 10_000;
		while (Date.now() < deadline) {
			if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
			if (await ping(port)) return;
			await new Promise((r) => setTimeout(r, 50));
		}
		throw new Error(`redis-server on port ${port} did not answer PING`);
	}

	async function kill() {
		const proc = child;
		child = null;
		if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
		const exited = new Promise<void>((r) => proc.once('exit', () => r()));
		proc.kill('SIGCONT'); // a paused process must run to die cleanly
		proc.kill('SIGKILL');
		await exited;
	}

	await launch();
	return {
		port,
		url: `redis://127.0.0.1:${port}`,
		kill,
		pause: () => void child?.kill('SIGSTOP'),
		resume: () => void child?.kill('SIGCONT'),
		async restart() {
			await kill();
			await launch();
		},
		async cleanup() {
			await kill();
			for (const proc of live) {
				proc.kill('SIGCONT');
				proc.kill('SIGKILL');
			}
		}
	};
}

/**
 * A throwaway Redis Cluster: `masters` redis-servers (cluster mode, no persistence, no
 * replicas), each in a temp folder of its own, joined with `redis-cli --cluster create`.
 * Resolves once `CLUSTER INFO` says `cluster_state:ok` on every node. `cleanup()` (call it in
 * afterAll) kills every server and removes the folders; a failed start cleans up before it
 * throws, and the process's exit kills what is still running.
 */
export interface RedisClusterHandle {
	/** Startup nodes for `new Cluster(nodes)`. */
	nodes: { host: string; port: number }[];
	cleanup(): Promise<void>;
}

const execFileAsync = promisify(execFile);

async function clusterInfo(port: number): Promise<string> {
	try {
		const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), 'cluster', 'info'], {
			timeout: 2000
		});
		return stdout;
	} catch {
		return '';
	}
}

export async function startRedisCluster(
	masters = 3,
	binary = 'redis-server'
): Promise<RedisClusterHandle> {
	const procs: ChildProcess[] = [];
	const dirs: string[] = [];
	const killNow = () => {
		for (const proc of procs)
			if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
		for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
	};
	// Last resort when the test process ends without afterAll (a crash, a hard timeout).
	process.once('exit', killNow);

	async function cleanup() {
		process.off('exit', killNow);
		await Promise.all(
			procs.map(async (proc) => {
				if (proc.exitCode !== null || proc.signalCode !== null) return;
				const exited = new Promise<void>((r) => proc.once('exit', () => r()));
				proc.kill('SIGKILL');
				await exited;
			})
		);
		for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
	}

	try {
		// Each node also needs a cluster bus port: ask for one explicitly (`--cluster-port`)
		// rather than port + 10000, which may be taken or past 65535.
		const used = new Set<number>();
		const freshPort = async () => {
			for (;;) {
				const port = await sparePort();
				if (!used.has(port)) {
					used.add(port);
					return port;
				}
			}
		};
		const ports: number[] = [];
		for (let i = 0; i < masters; i++) {
			const [port, busPort] = [await freshPort(), await freshPort()];
			const dir = mkdtempSync(join(tmpdir(), 'presence-cluster-'));
			dirs.push(dir);
			const proc = spawn(
				binary,
				[
					'--port',
					String(port),
					'--cluster-port',
					String(busPort),
					'--cluster-enabled',
					'yes',
					'--cluster-config-file',
					'nodes.conf',
					'--dir',
					dir,
					'--save',
					'',
					'--appendonly',
					'no',
					'--bind',
					'127.0.0.1'
				],
				{ cwd: dir, stdio: 'ignore' }
			);
			procs.push(proc);
			ports.push(port);
		}
		const deadline = Date.now() + 10_000;
		for (const [i, port] of ports.entries()) {
			while (!(await ping(port))) {
				const proc = procs[i]!;
				if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
				if (Date.now() > deadline)
					throw new Error(`redis-server on port ${port} did not answer PING`);
				await new Promise((r) => setTimeout(r, 50));
			}
		}
		await execFileAsync(
			'redis-cli',
			[
				'--cluster',
				'create',
				...ports.map((port) => `127.0.0.1:${port}`),
				'--cluster-replicas',
				'0',
				'--cluster-yes'
			],
			{ timeout: 20_000 }
		);
		const okBy = Date.now() + 20_000;
		for (const port of ports) {
			for (;;) {
				const info = await clusterInfo(port);
				if (
					info.includes('cluster_state:ok') &&
					info.includes('cluster_slots_ok:16384') &&
					info.includes(`cluster_known_nodes:${masters}`)
				) {
					break;
				}
				if (Date.now() > okBy) throw new Error(`cluster node ${port} not ok:\n${info}`);
				await new Promise((r) => setTimeout(r, 100));
			}
		}
		return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), cleanup };
	} catch (error) {
		await cleanup();
		throw error;
	}
}
