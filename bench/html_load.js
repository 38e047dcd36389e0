/* Opens a page of `heaptrail html` in headless Chromium (playwright-core,
 * Debian's chromium) and prints {"bytes": N, "ready_ms": T}: the time
 * from navigation until the page is interactive (its timeline, first
 * flamegraph and tables drawn: body[data-ready]).  Best of `runs`.
 * Usage: NODE_PATH=BUILD/npm/node_modules node html_load.js PAGE [runs] */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

async function main() {
	const page = process.argv[2], runs = +(process.argv[3] || 3);
	if (!page) {
		console.error('usage: node html_load.js PAGE.html [runs]');
		process.exit(2);
	}
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heaptrail-load-'));
	const browser = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		viewport: { width: 1280, height: 1100 },
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	let best = Infinity;
	try {
		for (let i = 0; i < runs; i++) {
			const p = await browser.newPage();
			const t0 = Date.now();
			await p.goto('file://' + path.resolve(page));
			await p.waitForSelector('body[data-ready="1"]', { timeout: 60000 });
			best = Math.min(best, Date.now() - t0);
			await p.close();
		}
	} finally {
		await browser.close();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	console.log(JSON.stringify({ bytes: fs.statSync(page).size, ready_ms: best }));
}

main().catch((e) => {
	console.error(String(e));
	process.exit(1);
});
