// The API page in a real browser: headless Chromium (Debian's package) driven by
// playwright-core. Every operation of the OpenAPI document is listed, "try it out"
// works on health, and a pasted bearer token reaches an authenticated endpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { F } from './client.mjs';

const PAGE = `${F.appUrl}/api/docs`;
let browser;
let page;
const problems = []; // console errors, page errors, CSP violations
const foreign = []; // requests leaving the app's origin (a CDN would show here)

before(async () => {
  browser = await chromium.launch({
    executablePath: F.chromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('request', (request) => {
    if (!request.url().startsWith(F.appUrl) && !request.url().startsWith('data:')) foreign.push(request.url());
  });
  const response = await page.goto(PAGE, { waitUntil: 'networkidle' });
  assert.equal(response.status(), 200);
  await page.locator('.opblock').first().waitFor();
});

after(async () => {
  if (page && F.screenshot) await page.screenshot({ path: F.screenshot, fullPage: true });
  await browser?.close();
});

function operationBlock(method, path) {
  return page.locator(`.opblock.opblock-${method}`)
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
}

const FORMER = 'former Edge Functions';

function shownOperations() {
  return page.locator('.opblock').evaluateAll((blocks) => blocks.map((block) => {
    const method = block.querySelector('.opblock-summary-method').textContent.trim().toLowerCase();
    const path = block.querySelector('.opblock-summary-path').getAttribute('data-path');
    return `${method} ${path}`;
  }));
}

test('one group per feature shows each operation once; the former names wait collapsed in their own', async () => {
  const document = await (await fetch(`${F.appUrl}/api/openapi.json`)).json();
  const operations = Object.entries(document.paths)
    .flatMap(([path, item]) => Object.keys(item).filter((key) => key !== 'parameters').map((m) => `${m} ${path}`));
  const groups = await page.locator('.opblock-tag-section .opblock-tag').evaluateAll(
    (tags) => tags.map((tag) => tag.getAttribute('data-tag')));
  assert.deepEqual(groups, document.tags.map((tag) => tag.name));
  assert.equal(groups.at(-1), FORMER);
  for (const feature of ['scoring', 'calls', 'retention', 'interviewer']) assert.ok(groups.includes(feature), feature);
  const direct = operations.filter((entry) => !entry.includes(' /functions/v1/')).sort();
  assert.deepEqual((await shownOperations()).sort(), direct); // the aliases are not shown yet

  await page.locator(`.opblock-tag[data-tag="${FORMER}"]`).click(); // open the former names' group
  await operationBlock('post', '/functions/v1/create-organisation').waitFor();
  const shown = (await shownOperations()).sort();
  assert.deepEqual(shown, [...operations].sort());
  for (const name of F.formerNames) {
    assert.ok(shown.some((entry) => entry.endsWith(` /functions/v1/${name}`)), `${name} not listed`);
  }
});

test('"try it out" on health answers 200', async () => {
  const block = operationBlock('get', '/api/health');
  await block.locator('.opblock-summary').first().click();
  await block.locator('button.try-out__btn').click();
  await block.locator('button.execute').click();
  const status = block.locator('.live-responses-table tr.response .response-col_status').first();
  await status.waitFor();
  assert.equal((await status.textContent()).trim(), '200');
  assert.match(await block.locator('.live-responses-table tr.response .response-col_description').first().textContent(),
    /"status"/);
});

test('a pasted bearer token is sent: the speech token answers 200, and 401 without it', async () => {
  const block = operationBlock('get', '/api/azure/speech-token');
  await block.locator('.opblock-summary').first().click();
  await block.locator('button.try-out__btn').click();
  await block.locator('button.execute').click();
  const status = block.locator('.live-responses-table tr.response .response-col_status').first();
  await status.waitFor();
  assert.equal((await status.textContent()).trim(), '401');

  await page.locator('button.authorize').first().click();
  const scheme = page.locator('.auth-container').filter({ hasText: 'supabaseToken' });
  await scheme.locator('input').first().fill(F.tokens.candidate);
  await scheme.locator('button.authorize').click();
  await page.locator('.modal-ux button.btn-done, .modal-ux .close-modal').first().click();

  await block.locator('button.execute').click();
  await page.waitForFunction((selector) => {
    const cell = document.querySelector(selector);
    return cell && cell.textContent.trim() === '200';
  }, `#${await block.getAttribute('id')} .live-responses-table tr.response .response-col_status`);
  assert.match(await block.locator('.live-responses-table tr.response .response-col_description').first().textContent(),
    /"token"/);
});

test('the page loads nothing from elsewhere and breaks no rule of its Content-Security-Policy', () => {
  assert.deepEqual(foreign, []);
  assert.deepEqual(problems.filter((text) => !/status of 401/.test(text)), []);
});
