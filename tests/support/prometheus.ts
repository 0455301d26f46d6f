/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests that scrape
 * /metrics: a malformed line throws instead of being skipped, so a broken exposition fails.
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */

export interface Sample {
	/** The sample's own name: `x_bucket`, `x_sum`, `x_count` for a histogram `x`. */
	name: string;
	labels: Record<string, string>;
	value: number;
}

export interface Family {
	name: string;
	type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
	help: string;
	samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

export function parsePrometheus(text: string): Map<string, Family> {
	const families = new Map<string, Family>();
	const family = (name: string) => {
		let f = families.get(name);
		if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
		return f;
	};
	for (const [index, line] of text.split('\n').entries()) {
		if (line.trim() === '') continue;
		const fail = (why: string): never => {
			throw new Error(`line ${index + 1}: ${why}: ${line}`);
		};
		if (line.startsWith('#')) {
			const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) ?(.*)$`).exec(line);
			if (!meta) continue; // a plain comment
			const f = family(meta[2]!);
			if (meta[1] === 'HELP') f.help = meta[3]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
			else if (['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(meta[3]!))
				f.type = meta[3] as Family['type'];
			else fail('unknown type');
			continue;
		}
		const match = SAMPLE.exec(line) ?? fail('not a sample');
		const [, name, rawLabels, rawValue] = match;
		const labels: Record<string, string> = {};
		if (rawLabels) {
			LABEL.lastIndex = 0;
			while (LABEL.lastIndex < rawLabels.length) {
				const start = LABEL.lastIndex;
				const label = LABEL.exec(rawLabels) ?? fail(`bad labels at ${start}`);
				labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
				if (label[3] === '') break;
			}
		}
		// Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes "Nan").
		const value = /^[+-]?inf$/i.test(rawValue!)
			? rawValue!.startsWith('-')
				? -Infinity
				: Infinity
			: /^nan$/i.test(rawValue!)
				? NaN
				: Number(rawValue);
		if (Number.isNaN(value) && !/^nan$/i.test(rawValue!)) fail('bad value');
		// A sample belongs to the family declared by TYPE: `x_bucket` to histogram `x`.
		const owner =
			families.has(name!) && families.get(name!)!.type !== 'untyped'
				? name!
				: (SUFFIXES.map((s) => (name!.endsWith(s) ? name!.slice(0, -s.length) : null)).find(
						(base) => base !== null && families.has(base)
					) ?? name!);
		family(owner).samples.push({ name: name!, labels, value });
	}
	return families;
}

/** The value of the one sample of `name` whose labels include `labels`; throws when absent. */
export function sampleValue(
	families: Map<string, Family>,
	name: string,
	labels: Record<string, string> = {}
): number {
	for (const family of families.values()) {
		for (const sample of family.samples) {
			if (sample.name !== name) continue;
			if (Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) return sample.value;
		}
	}
	throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
}
