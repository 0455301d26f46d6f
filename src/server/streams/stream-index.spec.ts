import { describe, expect, it } from 'vitest';
import { StreamIndex } from './stream-index';

const streamsOf = (index: StreamIndex<string>, userId: string) => [...index.of(userId)].sort();

describe('StreamIndex', () => {
	it('holds one stream, then several, then one again, then none', () => {
		const index = new StreamIndex<string>();
		expect(index.has('ada')).toBe(false);
		expect(streamsOf(index, 'ada')).toEqual([]);
		index.add('ada', 's1');
		index.add('ada', 's1');
		expect(streamsOf(index, 'ada')).toEqual(['s1']);
		index.add('ada', 's2');
		index.add('ada', 's3');
		expect(streamsOf(index, 'ada')).toEqual(['s1', 's2', 's3']);
		index.remove('ada', 's2');
		index.remove('ada', 's1');
		expect(streamsOf(index, 'ada')).toEqual(['s3']);
		index.remove('ada', 's1');
		expect(streamsOf(index, 'ada')).toEqual(['s3']);
		index.remove('ada', 's3');
		expect(index.has('ada')).toBe(false);
		expect([...index.people()]).toEqual([]);
	});

	it('keeps people apart and visits each stream once', () => {
		const index = new StreamIndex<string>();
		index.add('ada', 's1');
		index.add('bob', 's2');
		index.add('bob', 's3');
		const visited: string[] = [];
		index.forEach('bob', (stream) => visited.push(stream));
		expect(visited.sort()).toEqual(['s2', 's3']);
		expect([...index.people()].sort()).toEqual(['ada', 'bob']);
		index.remove('bob', 's1');
		expect(streamsOf(index, 'bob')).toEqual(['s2', 's3']);
	});
});
