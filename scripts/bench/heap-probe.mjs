/**
 * Preloaded into the server processes of the streams bench (`--import`, through NODE_OPTIONS
 * for the app), so the app's heap and the floor's are measured the same way and without a
 * change to the app: on SIGUSR2 it collects garbage twice and prints one line to stderr.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc = null;
try {
	setFlagsFromString('--expose-gc');
	gc = runInNewContext('gc');
} catch {
	// No GC on demand: the figures then include garbage, which the line says.
}

let seq = 0;
process.on('SIGUSR2', () => {
	gc?.();
	gc?.();
	const m = process.memoryUsage();
	const line = {
		seq: ++seq,
		gc: gc !== null,
		rss: m.rss,
		heapUsed: m.heapUsed,
		external: m.external
	};
	process.stderr.write(`[bench-heap] ${JSON.stringify(line)}\n`);
});
