/* heaptrail html: the page's logic without the DOM (page.js wires it to
 * the libraries).  Pure functions over the report data that
 * `heaptrail html` inlines (cli/cmd_html.c); tested by app.test.js under
 * node.  Exposed as window.HeaptrailApp in the page. */
'use strict';

/* 1536 -> "1.5 KiB" (exact below 1 KiB). */
function fmtBytes(n) {
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let v = n, u = 0;
	while (v >= 1024 && u < units.length - 1) {
		v /= 1024;
		u++;
	}
	return u === 0 ? n + ' B' : v.toFixed(v < 10 ? 2 : 1) + ' ' + units[u];
}

/* Microseconds -> seconds with the decimals the trace's clock supports
 * (data.time_decimals, from the analyzer's fmt_time_decimals: 4 at a
 * 26 us resolution), rounded to them as the text reports round:
 * 1234567 at 4 -> "1.2346s".  The fixed times (marks, peak, points)
 * come formatted by the analyzer (their "time"); this is for the times
 * the page makes itself (a click on the chart, the cursor). */
function fmtTime(us, decimals) {
	const d = decimals === undefined ? 6 : decimals;
	const unit = Math.pow(10, 6 - d);
	const r = Math.floor((us + unit / 2) / unit) * unit;
	return (r / 1e6).toFixed(d) + 's';
}

/* The flamegraph tree (d3-flame-graph's {name, value, children}) of one
 * point: stacks merged by frame (name and location), outermost first.
 * hideSystem drops system frames (a stack keeps its innermost frame
 * when all are system frames).  The "other" node holds the stacks below
 * the page's threshold.  Each node has bytes, blocks, loc and pct. */
function buildTree(data, point, opts) {
	const hideSystem = !!(opts && opts.hideSystem);
	const unit = point.kind === 'allocs' ? 'allocations' : 'bytes';
	const root = { name: point.name, value: 0, bytes: 0, blocks: 0, loc: '', children: [], kids: new Map() };
	const total = point.total_bytes + 0;
	function child(node, key, name, loc) {
		let c = node.kids.get(key);
		if (!c) {
			c = { name, value: 0, bytes: 0, blocks: 0, loc, children: [], kids: new Map() };
			node.kids.set(key, c);
			node.children.push(c);
		}
		return c;
	}
	function add(node, v, b) {
		node.value += v;
		node.bytes += v;
		node.blocks += b;
	}
	for (const [v, b, ids] of point.stacks) {
		let path = ids;
		if (hideSystem) {
			path = ids.filter((id) => !data.frames[id][2]);
			if (!path.length && ids.length)
				path = [ids[ids.length - 1]];
		}
		let node = root;
		add(node, v, b);
		for (const id of path) {
			const f = data.frames[id];
			node = child(node, f[0] + '\u001f' + f[1], f[0], f[1]);
			add(node, v, b);
		}
	}
	if (point.other_bytes || point.other_blocks) {
		const o = child(root, '\u001fother', 'other (stacks below ' + (data.other_permille / 10) + '% each)', '');
		add(o, point.other_bytes, point.other_blocks);
		add(root, point.other_bytes, point.other_blocks);
	}
	(function finish(n) {
		delete n.kids;
		n.pct = total ? (100 * n.bytes) / total : 0;
		n.unit = unit;
		n.children.forEach(finish);
	})(root);
	return root;
}

/* The tooltip of a node: "keep_blocks  32768 bytes (32.0 KiB), 8
 * blocks, 33.33% of the total  at x.c:19". */
function nodeLabel(n) {
	const what = n.unit === 'allocations' ?
		n.bytes + ' allocations, ' + n.blocks + ' bytes allocated' :
		n.bytes + ' bytes (' + fmtBytes(n.bytes) + '), ' + n.blocks + ' blocks';
	return n.name + '  ' + what + ', ' + n.pct.toFixed(2) + '% of the total' +
		(n.loc ? '  at ' + n.loc : '');
}

/* The tracemalloc-style top of a point: stacks grouped by their
 * innermost frame that is not a system frame (its file:line), largest
 * first. */
function topRows(data, point) {
	const rows = new Map();
	for (const [v, b, ids] of point.stacks) {
		let id = ids[ids.length - 1];
		for (let k = ids.length - 1; k >= 0; k--)
			if (!data.frames[ids[k]][2]) {
				id = ids[k];
				break;
			}
		const f = id === undefined ? ['<unknown>', '', 0] : data.frames[id];
		const key = f[1] || f[0];
		let r = rows.get(key);
		if (!r) {
			r = { site: key, func: f[0], bytes: 0, blocks: 0, pct: 0 };
			rows.set(key, r);
		}
		r.bytes += v;
		r.blocks += b;
	}
	const out = [...rows.values()];
	for (const r of out)
		r.pct = point.total_bytes ? (100 * r.bytes) / point.total_bytes : 0;
	return sortRows(out, 'bytes', true);
}

/* rows sorted by key (numbers or strings), descending when desc. */
function sortRows(rows, key, desc) {
	const s = rows.slice().sort((a, b) => {
		const x = a[key], y = b[key];
		const c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
		return desc ? -c : c;
	});
	return s;
}

/* An SVG path ("M0,9L...") of values scaled into w x h (the largest
 * value at the top). */
function sparklinePath(values, w, h) {
	if (!values.length)
		return '';
	const max = Math.max(...values) || 1;
	const dx = values.length > 1 ? w / (values.length - 1) : 0;
	return values.map((v, i) => (i ? 'L' : 'M') + (i * dx).toFixed(1) + ',' +
		(h - (v / max) * h).toFixed(1)).join('');
}

/* The timeline's series for uPlot: [times in s, heap, rss], the RSS
 * samples placed on the heap's time axis (null where it has none). */
function timelineSeries(data) {
	const t = new Map();
	for (const [us, , mx] of data.heap)
		t.set(us, [mx, null]);
	for (const [us, , mx] of data.rss) {
		const e = t.get(us) || [null, null];
		e[1] = mx;
		t.set(us, e);
	}
	const keys = [...t.keys()].sort((a, b) => a - b);
	return [keys.map((k) => k / 1e6), keys.map((k) => t.get(k)[0]), keys.map((k) => t.get(k)[1])];
}

/* The precomputed point nearest to time_us (for a click on the
 * timeline). */
function nearestPoint(data, us) {
	let best = 0;
	data.points.forEach((p, i) => {
		if (Math.abs(p.time_us - us) < Math.abs(data.points[best].time_us - us))
			best = i;
	});
	return best;
}

/* The point a snapshot mark shows: its own when the page has one, else
 * the point nearest to its time. */
function markPoint(data, mark) {
	const i = data.points.findIndex((p) => p.kind === 'snapshot' && p.mark === mark.index);
	return i >= 0 ? i : nearestPoint(data, mark.time_us);
}

/* What the page says when a chosen time snaps to a precomputed point:
 * "" when the point is at that time. */
function snapNote(data, us, i) {
	const p = data.points[i];
	if (p.time_us === us)
		return '';
	return 'No flamegraph was precomputed at ' + fmtTime(us, data.time_decimals) + ': showing the nearest one, ' +
		p.name + ' (' + data.points.length + ' points: the peak, the end, the snapshot marks and ' +
		'evenly spaced times' + (data.points_left_out ? '; ' + data.points_left_out +
		' more were left out to keep the page small' : '') + ').';
}

const HeaptrailApp = { fmtBytes, fmtTime, buildTree, nodeLabel, topRows, sortRows,
	sparklinePath, timelineSeries, nearestPoint, markPoint, snapNote };
if (typeof module !== 'undefined')
	module.exports = HeaptrailApp;
else
	window.HeaptrailApp = HeaptrailApp;
