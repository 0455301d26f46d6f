// Prints one closing line over every runner: "tests: N passed, N failed, N skipped".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
	if (!existsSync(file)) {
		console.log(`(no report at ${file}: that runner did not finish)`);
		failed++;
		continue;
	}
	const report = JSON.parse(readFileSync(file, 'utf8'));
	if ('numPassedTests' in report) {
		// vitest
		passed += report.numPassedTests;
		failed += report.numFailedTests;
		skipped += report.numPendingTests + (report.numTodoTests ?? 0);
	} else if (report.stats) {
		// Playwright
		passed += report.stats.expected + (report.stats.flaky ?? 0);
		failed += report.stats.unexpected;
		skipped += report.stats.skipped;
	}
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
