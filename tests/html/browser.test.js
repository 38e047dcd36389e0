/* The page of `heaptrail html` in headless Chromium (Debian's chromium,
 * driven by playwright-core; no browser is downloaded).  The program is
 * tests/integration/targets/export_mix.c: 8 x 4096 bytes kept
 * (keep_blocks), 65536 bytes at the peak (big_block), then 3 x 1000
 * bytes (tail_blocks); snapshot marks "kept" and "freed".
 * Run by `make html-test` with HEAPTRAIL_BUILD and NODE_PATH set.  Fails
 * (never skips) when Chromium is missing: install-deps.sh installs it. */
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { chromium } = require('playwright-core');

const BUILD = process.env.HEAPTRAIL_BUILD;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function record(tmp) {
	const trace = path.join(tmp, 'mix.htr');
	const html = path.join(tmp, 'mix.html');
	execFileSync(path.join(BUILD, 'heaptrail'),
		['record', '--quiet', '-o', trace, path.join(BUILD, 'targets', 'export_mix')]);
	execFileSync(path.join(BUILD, 'heaptrail'), ['html', trace, '-o', html], { stdio: 'pipe' });
	const snaps = JSON.parse(execFileSync(path.join(BUILD, 'heaptrail'), ['snapshots', trace, '--json']));
	const info = JSON.parse(execFileSync(path.join(BUILD, 'heaptrail'), ['info', trace, '--json']));
	return { html, snaps, info };
}

async function launch(tmp) {
	/* A fresh profile (--user-data-dir) each run. */
	return chromium.launchPersistentContext(path.join(tmp, 'profile'), {
		executablePath: CHROMIUM,
		headless: true,
		viewport: { width: 1280, height: 1100 },
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
}

/* tests/integration/targets/many_marks.c: 30 marks m00..m29, mark i
 * holding 1000 * (i + 1) * (i + 2) / 2 bytes. */
test('every mark has its flamegraph and a chosen time snaps to the nearest point', { timeout: 120000 }, async () => {
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heaptrail-html-'));
	const trace = path.join(tmp, 'marks.htr'), html = path.join(tmp, 'marks.html');
	execFileSync(path.join(BUILD, 'heaptrail'),
		['record', '--quiet', '-o', trace, path.join(BUILD, 'targets', 'many_marks')]);
	execFileSync(path.join(BUILD, 'heaptrail'), ['html', trace, '-o', html], { stdio: 'pipe' });
	const browser = await launch(tmp);
	try {
		const page = await browser.newPage();
		const errors = [];
		page.on('pageerror', (e) => errors.push(String(e)));
		await page.goto('file://' + html);
		await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
		const pts = await page.evaluate(() =>
			JSON.parse(document.getElementById('heaptrail-data').textContent).points
				.filter((p) => p.kind === 'snapshot' && /'m\d\d'/.test(p.name))
				.map((p) => [p.mark, p.total_bytes]));
		assert.strictEqual(pts.length, 30, JSON.stringify(pts));
		pts.forEach(([mark, bytes], i) => {
			assert.strictEqual(mark, i);
			assert.strictEqual(bytes, 1000 * (i + 1) * (i + 2) / 2, 'mark ' + i);
		});
		/* A mark shows its own flamegraph: step() with its bytes. */
		for (const i of [0, 17, 29]) {
			const label = 'm' + String(i).padStart(2, '0');
			await page.click(`.mark:has-text("${label} @")`);
			await page.waitForTimeout(300);
			assert.match(await page.textContent('#flame-title'), new RegExp(`'${label}'`));
			assert.strictEqual(await page.textContent('#snap-note'), '');
			const t = await page.$eval('#flame g.frame[name="step"] title', (e) => e.textContent);
			assert.match(t, new RegExp(`\\b${1000 * (i + 1) * (i + 2) / 2} bytes\\b`));
		}
		/* A time between two marks on the chart: the nearest point, and a note. */
		const { x, y, t } = await page.evaluate(() => {
			const u = window.heaptrailTimeline.plot, m = window.heaptrailTimeline.marks;
			const t = (m[10].t + m[11].t) / 2 + 0.0002;
			const r = u.over.getBoundingClientRect();
			return { x: r.left + u.valToPos(t, 'x'), y: r.top + r.height / 2, t };
		});
		await page.mouse.click(x, y);
		await page.waitForTimeout(300);
		const note = await page.textContent('#snap-note');
		/* The page's own times have the clock's digits, as the text's do. */
		const dec = await page.evaluate(() =>
			JSON.parse(document.getElementById('heaptrail-data').textContent).time_decimals);
		assert.match(note, new RegExp(`^No flamegraph was precomputed at \\d+\\.\\d{${dec}}s: showing the nearest one, (time \\d+\\.\\d{1,${dec}}s |snapshot|peak|end)`));
		const title = await page.textContent('#flame-title');
		assert.ok(note.includes(title), `note "${note}" names the point shown, "${title}"`);
		const shownUs = await page.evaluate((title) =>
			JSON.parse(document.getElementById('heaptrail-data').textContent).points
				.find((p) => p.name === title).time_us, title);
		const marks = await page.evaluate(() => window.heaptrailTimeline.marks.map((m) => m.t));
		assert.ok(Math.abs(shownUs / 1e6 - t) <= Math.abs(marks[10] - t) + 1e-6,
			`shown ${shownUs} is the nearest to ${t}`);
		assert.deepStrictEqual(errors, []);
	} finally {
		await browser.close();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
});

/* tests/integration/targets/tiny_sites.c: spread() calls 200 tiny sites
 * of 16 bytes each; big() keeps 1 MiB. */
test('tiny frames merge into a stated other node under their parent', { timeout: 120000 }, async () => {
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heaptrail-html-'));
	const trace = path.join(tmp, 'tiny.htr'), html = path.join(tmp, 'tiny.html');
	execFileSync(path.join(BUILD, 'heaptrail'),
		['record', '--quiet', '-o', trace, path.join(BUILD, 'targets', 'tiny_sites')]);
	execFileSync(path.join(BUILD, 'heaptrail'), ['html', trace, '-o', html], { stdio: 'pipe' });
	const browser = await launch(tmp);
	try {
		const page = await browser.newPage();
		await page.goto('file://' + html);
		await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
		await page.waitForTimeout(600);
		const frames = await page.$$eval('#flame g.frame', (gs) => gs.map((g) => ({
			name: g.getAttribute('name'),
			title: g.querySelector('title') ? g.querySelector('title').textContent : '',
		})));
		assert.ok(!frames.some((f) => /^tiny_/.test(f.name)), 'no tiny_* frame: ' +
			frames.map((f) => f.name).join(','));
		const spread = frames.find((f) => f.name === 'spread');
		assert.ok(spread, 'spread frame');
		assert.match(spread.title, /\b3200 bytes\b.*\b200 blocks\b/);
		const other = frames.filter((f) => f.name.startsWith('other'));
		assert.strictEqual(other.length, 1, JSON.stringify(other));
		assert.strictEqual(other[0].name, 'other (frames below 0.1% each)');
		assert.match(other[0].title, /\b3200 bytes\b.*\b200 blocks\b/);
		/* under spread, not at the root */
		const under = await page.evaluate(() => {
			const o = [...document.querySelectorAll('#flame g.frame')].find((g) => g.getAttribute('name').startsWith('other'));
			const s = [...document.querySelectorAll('#flame g.frame')].find((g) => g.getAttribute('name') === 'spread');
			const r = (g) => g.querySelector('rect');
			const tf = (g) => g.getAttribute('transform');
			return { o: tf(o), s: tf(s), ow: +r(o).getAttribute('width'), sw: +r(s).getAttribute('width') };
		});
		const xy = (t) => t.match(/translate\(([\d.]+),([\d.]+)\)/).slice(1).map(Number);
		const [ox, oy] = xy(under.o), [sx, sy] = xy(under.s);
		assert.ok(Math.abs(ox - sx) < 0.5 && Math.abs(under.ow - under.sw) < 0.5, JSON.stringify(under));
		assert.notStrictEqual(oy, sy, 'other is one level below spread');
		const big = frames.find((f) => f.name === 'big');
		assert.match(big.title, /\b1048576 bytes\b/);
		assert.match(await page.textContent('#other-note'), /^Frames below 0\.1% of the flamegraph's total are merged into one "other" node under their parent\.$/);
	} finally {
		await browser.close();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
});

test('html page in headless chromium', { timeout: 120000 }, async () => {
	assert.ok(BUILD, 'HEAPTRAIL_BUILD must name the build directory');
	assert.ok(fs.existsSync(CHROMIUM), CHROMIUM + ' is missing: run scripts/install-deps.sh (Debian package chromium)');
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heaptrail-html-'));
	const { html, snaps, info } = record(tmp);
	/* A fresh profile (--user-data-dir) each run. */
	const browser = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
		executablePath: CHROMIUM,
		headless: true,
		viewport: { width: 1280, height: 1100 },
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	try {
		const page = await browser.newPage();
		const errors = [], requests = [];
		page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
		page.on('pageerror', (e) => errors.push(String(e)));
		await page.route('**/*', (route) => {
			const u = route.request().url();
			if (!u.startsWith('file:')) {
				requests.push(u);
				return route.abort();
			}
			return route.continue();
		});
		const t0 = Date.now();
		await page.goto('file://' + html);
		await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
		const loadMs = Date.now() - t0;
		await page.waitForTimeout(600); /* the flamegraph's transitions */

		/* A frame per known call site, its exact bytes in the tooltip. */
		const frames = await page.$$eval('#flame g.frame', (gs) => gs.map((g) => ({
			name: g.getAttribute('name'),
			title: g.querySelector('title') ? g.querySelector('title').textContent : '',
			width: +g.querySelector('rect').getAttribute('width'),
		})));
		const byName = (n) => frames.find((f) => f.name === n);
		const keep = byName('keep_blocks'), big = byName('big_block');
		assert.ok(keep, 'keep_blocks frame: ' + JSON.stringify(frames.map((f) => f.name)));
		assert.ok(big, 'big_block frame');
		assert.match(keep.title, /\b32768 bytes\b/);
		assert.match(keep.title, /\b8 blocks\b/);
		assert.match(keep.title, /export_mix\.c:19/);
		assert.match(big.title, /\b65536 bytes\b/);
		assert.match(big.title, /66\.67% of the total/);
		assert.ok(Math.abs(big.width / keep.width - 2) < 0.05, `widths ${big.width} ${keep.width} not 2:1`);
		assert.ok(!byName('tail_blocks'), 'tail_blocks is not live at the peak');

		/* Hover: the details line. */
		await page.hover('#flame g.frame[name="big_block"]');
		assert.match(await page.textContent('#details'), /65536 bytes/);

		/* Search highlights a known function. */
		await page.fill('#search', 'keep_blocks');
		await page.waitForTimeout(100);
		const fill = await page.$eval('#flame g.frame[name="keep_blocks"] rect', (r) => r.getAttribute('fill'));
		assert.strictEqual(fill.toLowerCase(), '#e600e6');
		const other = await page.$eval('#flame g.frame[name="big_block"] rect', (r) => r.getAttribute('fill'));
		assert.notStrictEqual(other.toLowerCase(), '#e600e6');

		/* The end: tail_blocks, 3000 bytes. */
		await page.selectOption('#point', '1');
		await page.waitForTimeout(400);
		const tail = await page.$eval('#flame g.frame[name="tail_blocks"] title', (t) => t.textContent);
		assert.match(tail, /\b3000 bytes\b/);

		/* The temporary allocations: big_block, freed before any other
		 * allocation. */
		const tempIdx = await page.$eval('#point', (s) =>
			[...s.options].find((o) => o.text.startsWith('temporary')).value);
		await page.selectOption('#point', tempIdx);
		await page.waitForTimeout(400);
		assert.match(await page.$eval('#flame g.frame[name="big_block"] title', (t) => t.textContent),
			/\b65536 bytes\b/);

		/* The timeline: the marks at their times, the peak at its time. */
		const tl = await page.evaluate(() => ({
			marks: window.heaptrailTimeline.marks, peak: window.heaptrailTimeline.peak,
			n: window.heaptrailTimeline.plot.data[0].length,
		}));
		const want = snaps.snapshots.map((s) => ({ t: s.time_us / 1e6, label: s.label }));
		assert.deepStrictEqual(tl.marks, want);
		assert.ok(tl.n > 2);
		assert.strictEqual(tl.peak.t, info.peak_time_us / 1e6);
		assert.match(tl.peak.label, /^peak 96\.0 KiB$/);
		const markText = await page.textContent('#marks');
		assert.match(markText, /kept @/);
		assert.match(markText, /freed @/);

		/* Clicking the "freed" mark shows its flamegraph. */
		await page.click('.mark:has-text("freed")');
		await page.waitForTimeout(300);
		assert.match(await page.textContent('#flame-title'), /freed/);

		/* The top table, sortable. */
		const top = await page.$$eval('#top tbody tr', (rs) => rs.map((r) => r.children[1].textContent));
		assert.deepStrictEqual(top, ['keep_blocks']);

		await page.selectOption('#point', '0');
		await page.fill('#search', '');
		await page.waitForTimeout(400);
		const shot = path.join(BUILD, 'html-screenshot.png');
		await page.screenshot({ path: shot, fullPage: true });
		console.log(`# page ${fs.statSync(html).size} bytes, ready in ${loadMs} ms, screenshot ${shot}`);

		assert.deepStrictEqual(errors, []);
		assert.deepStrictEqual(requests, []);
	} finally {
		await browser.close();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
});
