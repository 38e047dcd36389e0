/* Unit tests of app.js (node --test; no dependencies). */
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const A = require('./app.js');

/* Two stacks under main (one through a system frame) and an "other". */
function sample() {
	return {
		other_permille: 1,
		frames: [['_start', 'a.out', 1], ['main', 'm.c:3', 0], ['f', 'm.c:9', 0], ['malloc_wrap', 'libc.so.6', 1], ['g', 'm.c:12', 0]],
		heap: [[0, 0, 0], [10, 100, 300]],
		rss: [[5, 4096, 4096], [10, 8192, 8192]],
		points: [{ name: 'peak', kind: 'peak', time_us: 10, total_bytes: 310, total_blocks: 5,
			stacks: [[200, 2, [0, 1, 2]], [100, 1, [0, 1, 4, 3]]], other_bytes: 10, other_blocks: 2 },
		{ name: 'end', kind: 'end', time_us: 50, total_bytes: 0, total_blocks: 0, stacks: [], other_bytes: 0, other_blocks: 0 }],
	};
}

test('buildTree merges stacks by frame and sums bytes and blocks', () => {
	const d = sample();
	const t = A.buildTree(d, d.points[0]);
	assert.strictEqual(t.value, 310);
	const start = t.children.find((c) => c.name === '_start');
	assert.strictEqual(start.value, 300);
	const main = start.children[0];
	assert.deepStrictEqual(main.children.map((c) => [c.name, c.bytes, c.blocks, c.loc]),
		[['f', 200, 2, 'm.c:9'], ['g', 100, 1, 'm.c:12']]);
	assert.strictEqual(main.children[0].pct.toFixed(2), '64.52');
});

test('buildTree puts the stacks below the threshold into a stated other node', () => {
	const d = sample();
	const o = A.buildTree(d, d.points[0]).children.find((c) => c.name.startsWith('other'));
	assert.strictEqual(o.name, 'other (stacks below 0.1% each)');
	assert.deepStrictEqual([o.bytes, o.blocks], [10, 2]);
});

test('buildTree hides system frames on request', () => {
	const d = sample();
	const t = A.buildTree(d, d.points[0], { hideSystem: true });
	assert.deepStrictEqual(t.children.map((c) => c.name).sort(), ['main', 'other (stacks below 0.1% each)']);
	const g = t.children.find((c) => c.name === 'main').children.find((c) => c.name === 'g');
	assert.strictEqual(g.children.length, 0);
});

test('nodeLabel gives exact bytes, blocks, share and location', () => {
	const d = sample();
	const f = A.buildTree(d, d.points[0]).children[0].children[0].children[0];
	assert.strictEqual(A.nodeLabel(f), 'f  200 bytes (200 B), 2 blocks, 64.52% of the total  at m.c:9');
});

test('topRows groups by the innermost non-system frame, largest first', () => {
	const d = sample();
	assert.deepStrictEqual(A.topRows(d, d.points[0]).map((r) => [r.site, r.bytes]), [['m.c:9', 200], ['m.c:12', 100]]);
});

test('sortRows sorts numbers and strings both ways', () => {
	const rows = [{ a: 2, s: 'b' }, { a: 10, s: 'a' }];
	assert.deepStrictEqual(A.sortRows(rows, 'a', true).map((r) => r.a), [10, 2]);
	assert.deepStrictEqual(A.sortRows(rows, 's', false).map((r) => r.s), ['a', 'b']);
});

test('fmtBytes and fmtTime', () => {
	assert.strictEqual(A.fmtBytes(1000), '1000 B');
	assert.strictEqual(A.fmtBytes(98304), '96.0 KiB');
	assert.strictEqual(A.fmtBytes(1536), '1.50 KiB');
	assert.strictEqual(A.fmtTime(1500000, 6), '1.500000s');
	/* Rounded to the decimals the clock supports, as fmt_seconds does. */
	assert.strictEqual(A.fmtTime(1234567, 4), '1.2346s');
	assert.strictEqual(A.fmtTime(12649, 4), '0.0126s');
	assert.strictEqual(A.fmtTime(1995000, 2), '2.00s');
	assert.strictEqual(A.fmtTime(1234567, 0), '1s');
});

test('sparklinePath scales the largest value to the top', () => {
	assert.strictEqual(A.sparklinePath([0, 5, 10], 20, 10), 'M0.0,10.0L10.0,5.0L20.0,0.0');
	assert.strictEqual(A.sparklinePath([], 20, 10), '');
});

test('timelineSeries joins heap and RSS on one time axis (maxima)', () => {
	assert.deepStrictEqual(A.timelineSeries(sample()), [[0, 5e-6, 1e-5], [0, null, 300], [null, 4096, 8192]]);
});

test('nearestPoint picks the closest precomputed point', () => {
	assert.strictEqual(A.nearestPoint(sample(), 12), 0);
	assert.strictEqual(A.nearestPoint(sample(), 45), 1);
});

test('a mark shows its own point, else the nearest; the note says when the time snaps', () => {
	const d = sample();
	d.points.push({ name: "snapshot #4 'x'", kind: 'snapshot', mark: 4, time_us: 30, total_bytes: 0,
		total_blocks: 0, stacks: [], other_bytes: 0, other_blocks: 0 });
	assert.strictEqual(A.markPoint(d, { index: 4, time_us: 30 }), 2);
	assert.strictEqual(A.markPoint(d, { index: 9, time_us: 45 }), 1, 'no point of its own: the nearest');
	assert.strictEqual(A.snapNote(d, 30, 2), '');
	assert.match(A.snapNote(d, 12, 0), /^No flamegraph was precomputed at 0\.000012s: showing the nearest one, peak \(3 points/);
	d.time_decimals = 4;
	assert.match(A.snapNote(d, 12649, 0), /^No flamegraph was precomputed at 0\.0126s:/);
});
