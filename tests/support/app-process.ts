import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

/**
 * A real app node: the production entry (`node scripts/serve.js`: the stream hub in front of the build) in its own process, so multi-node tests
 * exercise the same bundle users run, over real HTTP and SSE.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const ENTRY = path.join(ROOT, 'scripts/serve.js');
const BUILD = path.join(ROOT, 'build/handler.js');

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
	});
}

export interface AppNode {
	url: string;
	trpcUrl: string;
	process: ChildProcess;
	output: string[];
	/** Graceful stop (SIGTERM) and wait for exit. */
	stop(): Promise<void>;
	/** SIGKILL: the node dies without a goodbye. */
	kill(): Promise<void>;
	metric(name: string): Promise<number>;
}

export async function startAppNode(env: Record<string, string>): Promise<AppNode> {
	if (!existsSync(BUILD)) {
		throw new Error(
			'build/handler.js is missing: run `npm run build` before the HTTP tests (npm test does).'
		);
	}
	const port = await freePort();
	const output: string[] = [];
	// APP_NODE_FLAGS: node flags for app nodes only (`--cpu-prof --cpu-prof-dir=/tmp/prof` to
	// profile the app under a test or the bench; NODE_OPTIONS refuses --cpu-prof).
	const flags = process.env.APP_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
	const child = spawn(process.execPath, [...flags, ENTRY], {
		cwd: ROOT,
		env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	child.stdout!.on('data', (chunk) => output.push(String(chunk)));
	child.stderr!.on('data', (chunk) => output.push(String(chunk)));
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const url = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + 30_000;
	for (;;) {
		if (child.exitCode !== null) throw new Error(`App node exited at start:\n${output.join('')}`);
		const ok = await fetch(`${url}/healthz`).then(
			(r) => r.ok,
			() => false
		);
		if (ok) break;
		if (Date.now() > deadline) {
			child.kill('SIGKILL');
			throw new Error(`App node did not answer /healthz within 30 s:\n${output.join('')}`);
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	return {
		url,
		trpcUrl: `${url}/api/trpc`,
		process: child,
		output,
		async stop() {
			if (child.exitCode === null) child.kill('SIGTERM');
			await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
			if (child.exitCode === null) child.kill('SIGKILL');
			await exited;
		},
		async kill() {
			if (child.exitCode === null) child.kill('SIGKILL');
			await exited;
		},
		async metric(name: string) {
			// A node started with METRICS_TOKEN answers /metrics only with it.
			const headers: Record<string, string> = env.METRICS_TOKEN
				? { authorization: `Bearer ${env.METRICS_TOKEN}` }
				: {};
			const text = await (await fetch(`${url}/metrics`, { headers })).text();
			const line = text.split('\n').find((l) => l.startsWith(`${name} `));
			if (!line) throw new Error(`No metric ${name} in:\n${text}`);
			return Number(line.split(' ')[1]);
		}
	};
}
