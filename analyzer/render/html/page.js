/* heaptrail html: wires the report data to uPlot (the timeline) and
 * d3-flame-graph, and fills the tables.  The logic is in app.js. */
(function () {
	'use strict';
	const A = window.HeaptrailApp;
	const data = JSON.parse(document.getElementById('heaptrail-data').textContent);
	const $ = (id) => document.getElementById(id);
	const points = data.points.concat([data.allocations, data.temporary].filter(Boolean));
	let current = 0;
	let chart = null;

	$('cmd').textContent = typeof data.trace === 'string' ? data.trace : '';
	$('other-note').textContent = 'Frames below ' + data.other_permille / 10 +
		'% of the flamegraph\'s total are merged into one "other" node under their parent.';

	function el(tag, text, cls) {
		const e = document.createElement(tag);
		if (text !== undefined)
			e.textContent = text;
		if (cls)
			e.className = cls;
		return e;
	}

	/* --- flamegraph --- */
	points.forEach((p, i) => {
		const o = el('option', p.name + (p.kind === 'allocs' ? '' : ' — ' + A.fmtBytes(p.total_bytes)));
		o.value = i;
		$('point').appendChild(o);
	});

	function showFlame(i, note) {
		current = i;
		$('snap-note').textContent = note || '';
		$('point').value = i;
		const p = points[i];
		$('flame-title').textContent = p.name;
		const tree = A.buildTree(data, p, { hideSystem: $('hide-system').checked });
		const w = Math.max(400, $('flame').clientWidth || 1000);
		$('flame').textContent = '';
		chart = flamegraph()
			.width(w)
			.cellHeight(18)
			.transitionDuration(200)
			.minFrameSize(1)
			.selfValue(false)
			.inverted($('inverted').checked)
			.sort(true)
			.setDetailsElement($('details'));
		chart.label((d) => A.nodeLabel(d.data));
		d3.select('#flame').datum(tree).call(chart);
		if ($('search').value)
			chart.search($('search').value);
		if (p.kind !== 'allocs' && p.kind !== 'temporary')
			fillTop(p);
	}

	$('point').addEventListener('change', () => showFlame(+$('point').value));
	$('inverted').addEventListener('change', () => showFlame(current));
	$('hide-system').addEventListener('change', () => showFlame(current));
	$('reset').addEventListener('click', () => chart && chart.resetZoom());
	$('search').addEventListener('input', () => {
		const q = $('search').value;
		if (!chart)
			return;
		if (q)
			chart.search(q);
		else {
			chart.clear();
			$('details').textContent = '';
		}
	});

	/* --- timeline --- */
	function drawTimeline() {
		const s = A.timelineSeries(data);
		const w = Math.max(400, $('timeline').clientWidth || 1000);
		const marks = data.marks.map((m) => ({ t: m.time_us / 1e6, label: m.label || '#' + m.index }));
		const peak = { t: data.peak.time_us / 1e6, label: 'peak ' + A.fmtBytes(data.peak.bytes) };
		const fmt = (u, v) => (v == null ? '-' : A.fmtBytes(v));
		const opts = {
			width: w,
			height: 260,
			scales: { x: { time: false } },
			axes: [{ label: 'seconds', values: (u, vs) => vs.map((v) => +v.toPrecision(4) + 's') }, { values: (u, vs) => vs.map((v) => A.fmtBytes(v)), size: 80 }],
			series: [
				{ label: 'time', value: (u, v) => (v == null ? '-' : A.fmtTime(Math.round(v * 1e6), data.time_decimals)) },
				{ label: 'heap', stroke: '#c0392b', width: 2, spanGaps: true, value: fmt },
				{ label: 'RSS', stroke: '#2471a3', width: 1, spanGaps: true, value: fmt },
			],
			hooks: {
				draw: [(u) => {
					const c = u.ctx;
					c.save();
					c.font = 12 * devicePixelRatio + 'px sans-serif';
					const line = (m, color) => {
						const x = u.valToPos(m.t, 'x', true);
						c.strokeStyle = color;
						c.fillStyle = color;
						c.beginPath();
						c.moveTo(x, u.bbox.top);
						c.lineTo(x, u.bbox.top + u.bbox.height);
						c.stroke();
						c.fillText(m.label, x + 3, u.bbox.top + 14 * devicePixelRatio);
					};
					marks.forEach((m) => line(m, '#7d3c98'));
					line(peak, '#c0392b');
					c.restore();
				}],
			},
		};
		chart = null;
		const u = new uPlot(opts, s, $('timeline'));
		window.heaptrailTimeline = { plot: u, marks, peak };
		/* Any time on the chart: the precomputed point nearest to it. */
		u.over.addEventListener('click', (e) => {
			const r = u.over.getBoundingClientRect();
			const us = Math.max(0, Math.round(u.posToVal(e.clientX - r.left, 'x') * 1e6));
			const i = A.nearestPoint(data, us);
			showFlame(i, A.snapNote(data, us, i));
		});
		data.marks.forEach((m) => {
			const a = el('span', (m.label || '#' + m.index) + ' @ ' + m.time, 'mark');
			a.dataset.time = m.time_us;
			a.addEventListener('click', () => {
				const i = A.markPoint(data, m);
				showFlame(i, A.snapNote(data, m.time_us, i));
			});
			$('marks').appendChild(a);
		});
	}

	/* --- tables --- */
	let topSort = { k: 'bytes', desc: true }, topData = [];
	function fillTop(p) {
		$('top-at').textContent = p.name;
		topData = A.topRows(data, p);
		renderTop();
	}
	function renderTop() {
		const tb = $('top').querySelector('tbody');
		tb.textContent = '';
		for (const r of A.sortRows(topData, topSort.k, topSort.desc)) {
			const tr = el('tr');
			tr.appendChild(el('td', r.site));
			tr.appendChild(el('td', r.func));
			tr.appendChild(el('td', String(r.bytes), 'n'));
			tr.appendChild(el('td', String(r.blocks), 'n'));
			tr.appendChild(el('td', r.pct.toFixed(1), 'n'));
			tb.appendChild(tr);
		}
	}
	$('top').querySelectorAll('th[data-k]').forEach((th) => th.addEventListener('click', () => {
		const k = th.dataset.k;
		topSort = { k, desc: topSort.k === k ? !topSort.desc : true };
		renderTop();
	}));

	function siteOf(frames) {
		const f = (frames || []).find((x) => x.file) || (frames || [])[0];
		return f ? (f.function || '?') + (f.file ? ' at ' + f.file + ':' + f.line : '') : '<unknown>';
	}

	function fillLeaks() {
		const tb = $('leaks').querySelector('tbody');
		const lk = data.leaks || {};
		for (const c of lk.candidates || []) {
			const tr = el('tr');
			tr.appendChild(el('td', A.fmtBytes(c.growth), 'n'));
			tr.appendChild(el('td', c.grew_intervals + '/' + c.intervals, 'n'));
			const td = el('td');
			td.innerHTML = '<svg width="120" height="20"><path fill="none" stroke="#c0392b" d="' +
				A.sparklinePath(c.series, 120, 18) + '"/></svg>';
			tr.appendChild(td);
			tr.appendChild(el('td', siteOf(c.frames)));
			tb.appendChild(tr);
		}
		$('leaks-note').textContent = lk.candidates_available === false ?
			'Leak candidates need at least 3 snapshot marks.' :
			(lk.candidates || []).length ? '' : 'No site grew steadily.';
	}

	function fillGrowth() {
		const tb = $('growth').querySelector('tbody');
		if (data.aggregated) {
			const td = el('td', 'Not in this trace: it was recorded with --aggregate, which keeps no single events.');
			td.colSpan = 5;
			const tr = el('tr');
			tr.appendChild(td);
			tb.appendChild(tr);
			return;
		}
		for (const c of (data.growth && data.growth.chains) || []) {
			const tr = el('tr');
			tr.appendChild(el('td', siteOf(c.frames)));
			tr.appendChild(el('td', String(c.site_chains), 'n'));
			tr.appendChild(el('td', String(c.site_steps), 'n'));
			tr.appendChild(el('td', A.fmtBytes(c.final_size), 'n'));
			tr.appendChild(el('td', A.fmtBytes(c.site_copied_bytes), 'n'));
			tb.appendChild(tr);
		}
	}

	drawTimeline();
	showFlame(0);
	fillLeaks();
	fillGrowth();
	document.body.dataset.ready = '1';
})();
