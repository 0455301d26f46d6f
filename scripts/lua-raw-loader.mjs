/**
 * `import source from '<script>.lua?raw'` outside vite: the presence engine's Lua scripts
 * (src/server/presence/redis/lua/) are imported as strings, which vite does in the build and in
 * vitest. Scripts that run under tsx (the bench) have no vite: `tsx --import
 * ./scripts/lua-raw-loader.mjs …` registers these module hooks, which answer exactly those
 * imports with `export default "<the file's text>"` and leave every other import to tsx.
 */
import { readFile } from 'node:fs/promises';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const RAW_LUA = /\.lua\?raw$/;

// Imported with --import in the main thread, this file registers itself; Node then loads it
// again in its hooks thread, where only the hooks below are used.
if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, nextResolve) {
	if (!RAW_LUA.test(specifier)) return nextResolve(specifier, context);
	return { url: new URL(specifier, context.parentURL).href, shortCircuit: true };
}

export async function load(url, context, nextLoad) {
	if (!RAW_LUA.test(url)) return nextLoad(url, context);
	const file = new URL(url);
	file.search = '';
	const text = await readFile(file, 'utf8');
	return {
		format: 'module',
		source: `export default ${JSON.stringify(text)};`,
		shortCircuit: true
	};
}
