// Loads the hl7d dashboard in headless Debian Chromium (playwright-core) and
// checks what it shows against the expected numbers.
//   node dashboard.mjs URL EXPECTED_JSON SCREENSHOT_PNG PROFILE_DIR
// Exits 1 with a message on the first difference or on any console error.
import { chromium } from 'playwright-core';

const [url, expectedJson, screenshot, profile] = process.argv.slice(2);
const expected = JSON.parse(expectedJson);

const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
const errors = [];
let failed = false;
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('pageerror', e => errors.push('page error: ' + e.message));
  page.on('requestfailed', r => errors.push('request failed: ' + r.url()));
  const resp = await page.goto(url, { waitUntil: 'load' });
  if (resp.status() !== 200) throw new Error('page status ' + resp.status());
  // Wait for the first refresh to fill the page.
  await page.waitForFunction(() => document.getElementById('updated').textContent.includes('ago'),
                             null, { timeout: 15000 });
  const text = async sel => (await page.locator(sel).first().textContent()).trim();
  const checks = [
    ['#error-rate', expected.error_rate],
    ['#messages-per-day', expected.messages_per_day],
    ['#acks-sent', expected.acks_sent],
    ['#delivery-status', expected.delivery],
    ['#status', 'ready'],
  ];
  if (expected.dead_letters !== undefined) checks.push(['#dead-letters', expected.dead_letters]);
  if (expected.queue_depth !== undefined) checks.push(['#queue-depth', expected.queue_depth]);
  for (const [type, n] of Object.entries(expected.types)) {
    checks.push([`#types tr[data-type="${type}"] .count`, String(n)]);
  }
  for (const [sel, want] of checks) {
    const got = await text(sel);
    if (got !== want) throw new Error(`${sel}: shows "${got}", expected "${want}"`);
  }
  for (const type of Object.keys(expected.types)) {
    const got = await text(`#types tr[data-type="${type}"] .last`);
    if (!/ago$/.test(got)) throw new Error(`last received ${type}: "${got}"`);
  }
  const uptime = await text('#uptime-30d');
  if (!/^\d+\.\d\d %$/.test(uptime)) throw new Error('uptime: ' + uptime);
  const latency = await text('#latency-avg');
  if (!/ms$/.test(latency)) throw new Error('latency: ' + latency);
  // No PHI: the page's text never carries the patient names of the corpus.
  const body = await page.locator('body').innerText();
  for (const phi of expected.absent) {
    if (body.includes(phi)) throw new Error('page shows "' + phi + '"');
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  if (errors.length) throw new Error(errors.join('\n'));
  console.log('dashboard OK: ' + checks.length + ' values checked');
} catch (e) {
  console.error('FAIL: ' + e.message);
  failed = true;
} finally {
  await context.close();
}
process.exit(failed ? 1 : 0);
