import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, Socket } from 'node:net';

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
