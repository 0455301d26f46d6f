import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every file a comment or a document names is in the repository (issue 11): a pointer that no
 * longer resolves sends the next engineer looking for something that is not there. A pointer
 * resolves when a tracked file's path ends with it (`redis/engine.ts`, `docs/design.md`).
 * Outputs of a build or a run (build/, reports/, .svelte-kit/) are not in the repository and
 * are not pointers.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
	.split('\n')
	.filter(Boolean);
const trackedSet = new Set(tracked);

const POINTER =
	/(?<![\w@./-])((?:\.\/)?(?:[\w[\]+-]+\/)*[\w[\]+-][\w.[\]+-]*\.(?:ts|js|mjs|cjs|lua|md|svelte|sh|sql|yml|yaml|css))(?![\w/(])/g;
const GENERATED = /^(build|reports|\.svelte-kit|node_modules|test-results)\//;
/** Lines that are prose: a document's, or a comment in code (//, /* *, Lua's --, shell's #). */
const COMMENT = /^\s*(\/\/|\/?\*|--|#|<!--)/;

function proseLines(file: string): string[] {
	const text = readFileSync(path.join(ROOT, file), 'utf8');
	const lines = text.split('\n');
	return file.endsWith('.md') ? lines : lines.map((l) => (COMMENT.test(l) ? l : ''));
}

function resolves(pointer: string): boolean {
	const p = pointer.replace(/^\.\//, '');
	if (GENERATED.test(p) || trackedSet.has(p)) return true;
	return tracked.some((f) => f.endsWith(`/${p}`));
}

describe('pointers in comments and docs', () => {
	it('name files that are in the repository', () => {
		const missing: string[] = [];
		for (const file of tracked) {
			if (!/\.(ts|js|mjs|lua|svelte|sh|md)$/.test(file) || file === 'package-lock.json') continue;
			for (const [i, line] of proseLines(file).entries()) {
				for (const [, pointer] of line.matchAll(POINTER)) {
					if (!resolves(pointer!)) missing.push(`${file}:${i + 1} ${pointer}`);
				}
			}
		}
		expect(missing).toEqual([]);
	});

	it('would catch one that does not resolve', () => {
		expect(resolves('presence/redis/engine.ts')).toBe(true);
		expect(resolves('presence/redis/scripts.ts')).toBe(false);
		expect(
			[...'// see `redis/scripts.ts` and docs/design.md'.matchAll(POINTER)].map((m) => m[1])
		).toEqual(['redis/scripts.ts', 'docs/design.md']);
	});
});
