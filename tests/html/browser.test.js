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
