// Largest contentful paint of the inbox in headless Chromium on loopback: each run is a new
// browser context (nothing cached: the WASM is downloaded and compiled every time), signed in
// by its session cookie. Prints LCP, the time until the page is interactive (hydrated), the WASM
// the page transferred (bytes on the wire, as the server compresses them), and the time from a
// click on the first conversation to its messages on screen, with the WASM that click fetched.
// Usage (see bench/lcp.sh): node bench/lcp.cjs <base url> <session cookie> [runs]
const { chromium } = require('playwright-core');

const [base, cookie, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 15);

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  const lcps = [];
  const hydrations = [];
  const opens = [];
  const wasm = new Map();
  const openWasm = new Map();
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1366, height: 850 }, serviceWorkers: 'block' });
    const url = new URL(base);
    await context.addCookies([{ name: 'buzon_session', value: cookie, domain: url.hostname, path: '/' }]);
    const page = await context.newPage();
    const fetched = [];
    page.on('requestfinished', (request) => {
      if (new URL(request.url()).pathname.endsWith('.wasm')) fetched.push(request);
    });
    await page.goto(`${base}/inbox`, { waitUntil: 'load' });
    await page.waitForSelector('html[data-hydrated]', { state: 'attached', timeout: 30_000 });
    const hydrated = await page.evaluate(() => performance.now());
    // LCP is final once the page has been interacted with or hidden; read what was recorded.
    const lcp = await page.evaluate(() => new Promise((resolve) => {
      new PerformanceObserver((list) => {
        const entries = list.getEntries();
        resolve(entries[entries.length - 1].startTime);
      }).observe({ type: 'largest-contentful-paint', buffered: true });
      setTimeout(() => resolve(NaN), 5000);
    }));
    if (Number.isNaN(lcp)) throw new Error('no largest-contentful-paint entry');
    for (const request of fetched.splice(0)) {
      const sizes = await request.sizes();
      wasm.set(new URL(request.url()).pathname, sizes.responseBodySize);
    }
    // The first open, as an agent makes it: the pointer crosses the list, then clicks a row.
    const row = page.locator('.rows-scroller a').first();
    await row.hover();
    const started = await page.evaluate(() => performance.now());
    await row.click();
    await page.locator('[role=log] .bubble').first().waitFor({ state: 'visible', timeout: 30_000 });
    const opened = (await page.evaluate(() => performance.now())) - started;
    for (const request of fetched) {
      const sizes = await request.sizes();
      openWasm.set(new URL(request.url()).pathname, sizes.responseBodySize);
    }
    if (i > 0) {
      // The first run warms the server and the browser process, not the page's cache.
      lcps.push(lcp);
      hydrations.push(hydrated);
      opens.push(opened);
    }
    await context.close();
  }
  await browser.close();
  lcps.sort((a, b) => a - b);
  hydrations.sort((a, b) => a - b);
  opens.sort((a, b) => a - b);
  const f = (n) => n.toFixed(0);
  console.log(`inbox LCP over ${lcps.length} cold loads: p50 ${f(pct(lcps, 50))} ms, p90 ${f(pct(lcps, 90))} ms, max ${f(lcps[lcps.length - 1])} ms`);
  console.log(`interactive (hydrated): p50 ${f(pct(hydrations, 50))} ms, p90 ${f(pct(hydrations, 90))} ms`);
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const total = [...wasm.values()].reduce((a, b) => a + b, 0);
  console.log(`WASM transferred for the inbox: ${kb(total)} (${[...wasm].map(([f, n]) => `${f} ${kb(n)}`).join(', ')})`);
  const openTotal = [...openWasm.values()].reduce((a, b) => a + b, 0);
  console.log(`first conversation opened (click to messages shown): p50 ${f(pct(opens, 50))} ms, p90 ${f(pct(opens, 90))} ms; WASM fetched from the hover on: ${kb(openTotal)} in ${openWasm.size} files`);
})();
