import { describe, expect, it } from 'vitest';
import { consoleLike, createLogger, defaultNodeId, formatRecord } from './log';

function capture() {
	const lines: string[] = [];
	return {
		lines,
		records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
		destination: { write: (line: string) => void lines.push(line) }
	};
}

describe('createLogger (json)', () => {
	it('writes one JSON object per line with level name, ISO time, node and the current incarnation', () => {
		const out = capture();
		let incarnation = 'node-a.11111111';
		const logger = createLogger({
			level: 'info',
			format: 'json',
			nodeId: 'node-a',
			incarnation: () => incarnation,
			destination: out.destination
		});
		logger.info('first');
		// A lease retaken under a new incarnation shows on the very next line.
		incarnation = 'node-a.22222222';
		logger.warn({ workspaceId: 'ws1' }, 'second');
		expect(out.lines.every((line) => line.endsWith('\n'))).toBe(true);
		const [first, second] = out.records();
		expect(first).toMatchObject({
			level: 'info',
			node: 'node-a',
			incarnation: 'node-a.11111111',
			msg: 'first'
		});
		expect(new Date(first!.time as string).toISOString()).toBe(first!.time);
		expect(second).toMatchObject({
			level: 'warn',
			incarnation: 'node-a.22222222',
			workspaceId: 'ws1',
			msg: 'second'
		});
		expect(first).not.toHaveProperty('pid');
	});

	it('children carry the request id and the connection id; errors are structured', () => {
		const out = capture();
		const logger = createLogger({
			level: 'info',
			format: 'json',
			nodeId: 'n',
			destination: out.destination
		});
		const request = logger.child({ requestId: 'req-1' });
		request.child({ connectionId: 'ws~abc' }).error({ err: new Error('boom') }, 'stream failed');
		const [line] = out.records();
		expect(line).toMatchObject({
			node: 'n',
			requestId: 'req-1',
			connectionId: 'ws~abc',
			msg: 'stream failed',
			err: { type: 'Error', message: 'boom' }
		});
		expect((line!.err as { stack: string }).stack).toContain('log.spec.ts');
		// No incarnation source (single-process backend): the field is absent, not "undefined".
		expect(line).not.toHaveProperty('incarnation');
	});

	it('honours the level', () => {
		const out = capture();
		const logger = createLogger({
			level: 'warn',
			format: 'json',
			nodeId: 'n',
			destination: out.destination
		});
		logger.info('dropped');
		logger.debug('dropped');
		logger.error('kept');
		expect(out.records().map((r) => r.msg)).toEqual(['kept']);
	});
});

describe('pretty format', () => {
	it('is one human line: time, level, incarnation, message, fields', () => {
		const out = capture();
		const logger = createLogger({
			level: 'info',
			format: 'pretty',
			nodeId: 'node-a',
			incarnation: () => 'node-a.3fa2b1c0',
			destination: out.destination
		});
		logger.child({ requestId: 'r1' }).info({ path: 'presence.heartbeat' }, '[trpc] slow call');
		expect(out.lines).toHaveLength(1);
		expect(out.lines[0]).toMatch(
			/^\d\d:\d\d:\d\d\.\d{3} INFO {2}node-a\.3fa2b1c0 \[trpc\] slow call requestId=r1 path=presence\.heartbeat\n$/
		);
	});

	it('puts an error stack under the line, indented', () => {
		const text = formatRecord({
			level: 'error',
			time: '2025-01-01T10:11:12.345Z',
			node: 'n',
			msg: 'failed',
			note: 'two words',
			err: { message: 'boom', stack: 'Error: boom\n    at x' }
		});
		expect(text).toBe(
			'10:11:12.345 ERROR n failed note="two words"\n    Error: boom\n        at x'
		);
	});

	it('routes formatted lines to a console-shaped destination by level', () => {
		const seen: string[] = [];
		const sink = {
			info: (line: string) => seen.push(`info: ${line}`),
			warn: (line: string) => seen.push(`warn: ${line}`),
			error: (line: string) => seen.push(`error: ${line}`)
		};
		const logger = createLogger({ level: 'info', format: 'json', nodeId: 'n', destination: sink });
		logger.info('a');
		logger.warn('b');
		logger.fatal('c');
		expect(seen.map((line) => line.replace(/ \d\d:\d\d:\d\d\.\d{3}/, ''))).toEqual([
			'info: INFO  n a',
			'warn: WARN  n b',
			'error: FATAL n c'
		]);
	});
});

describe('consoleLike', () => {
	it('joins console-style arguments into the message and lifts the first Error into err', () => {
		const out = capture();
		const logger = createLogger({
			level: 'debug',
			format: 'json',
			nodeId: 'n',
			destination: out.destination
		});
		const log = consoleLike(logger);
		log.info('[db] migrated:', 3, { a: 1 });
		log.error('[presence] a listener threw:', new TypeError('bad'));
		log.debug('detail');
		const [info, error, debug] = out.records();
		expect(info).toMatchObject({ level: 'info', msg: '[db] migrated: 3 { a: 1 }' });
		expect(error).toMatchObject({
			level: 'error',
			msg: '[presence] a listener threw',
			err: { type: 'TypeError', message: 'bad' }
		});
		expect(debug).toMatchObject({ level: 'debug', msg: 'detail' });
	});
});

describe('defaultNodeId', () => {
	it('is host and pid, usable in a Redis key', () => {
		expect(defaultNodeId()).toMatch(new RegExp(`^[A-Za-z0-9_.-]+-${process.pid}$`));
	});
});
