// Open a bias audit report (an HTML file) in headless Chromium with the network off,
// and print what a reader sees as JSON: the tables, the chart's bars and line, and
// every request the page tried (none is allowed to leave the file).
import { chromium } from 'playwright-core';

const [chromiumPath, file] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ offline: true });
  const page = await context.newPage();
  const requests = [];
  const problems = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    requests.push(url);
    return route.abort();
  });
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
  page.on('pageerror', (error) => problems.push(String(error)));
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  const seen = await page.evaluate(() => {
    const tables = {};
    for (const table of document.querySelectorAll('table[data-dimension]')) {
      tables[table.dataset.dimension] = [...table.querySelectorAll('tbody tr')].map((tr) => {
        const cells = {};
        for (const td of tr.querySelectorAll('td')) cells[td.dataset.column] = td.textContent;
        return cells;
      });
    }
    const bars = [...document.querySelectorAll('#impact-ratios rect.bar')].map((rect) => {
      const box = rect.getBoundingClientRect();
      return { dimension: rect.dataset.dimension, category: rect.dataset.category,
        ratio: rect.dataset.impactRatio, width: box.width, left: box.left, below: rect.classList.contains('below') };
    });
    const line = document.querySelector('#four-fifths')?.getBoundingClientRect();
    const chart = document.querySelector('#impact-ratios')?.getBoundingClientRect();
    return { title: document.title, tables, bars, line: line && { left: line.left, height: line.height },
      chart: chart && { left: chart.left, width: chart.width } };
  });
  console.log(JSON.stringify({ ...seen, requests, problems }));
} finally {
  await browser.close();
}
