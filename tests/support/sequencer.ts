import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Longest first, so the workers finish together. Vitest orders by the last run's durations when
 * its cache has them; a fresh clone (CI) has none, and vitest's fallback, file size, starts
 * `presence/contract.test.ts` last: a few lines that call the suites of `contract.ts` and run
 * longest of all. The fallback here weighs a test file together with the suite modules it
 * imports from its own folder.
 */
export default class LongestFirst extends BaseSequencer {
	override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
		const root = this.ctx.config.root;
		const timed = files.every((file) =>
			this.ctx.cache.getFileTestResults(`${file.project.name}:${relative(root, file.moduleId)}`)
		);
		if (timed) return super.sort(files);
		const weights = new Map(files.map((file) => [file, weigh(file.moduleId)]));
		return [...files].sort((a, b) => weights.get(b)! - weights.get(a)!);
	}
}

const SIBLING_IMPORT = /from '\.\/([^']+)'/g;

function weigh(path: string): number {
	const source = readFileSync(path, 'utf8');
	let bytes = source.length;
	for (const [, name] of source.matchAll(SIBLING_IMPORT)) {
		try {
			bytes += statSync(resolve(dirname(path), `${name}.ts`)).size;
		} catch {
			// Not a TypeScript module beside it: weighs nothing.
		}
	}
	return bytes;
}
