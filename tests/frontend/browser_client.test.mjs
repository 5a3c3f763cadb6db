// functions-js itself, loaded as an ES module into headless Chromium on a page of
// the frontend's origin, calls the app across origins: the browser preflights the
// headers the client sends and applies CORS to every answer, errors included.
// A stand-in for the frontend is served from two loopback origins (one the app
// allows, one it does not), like a developer's Vite server; the app is the local host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { F, FUNCTIONS_URL } from './client.mjs';

const NODE_MODULES = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname),
  '../../node_modules');
// Only these files are served to the page: the client and its one dependency.
const MODULES = {
  '/node_modules/@supabase/functions-js/': path.join(NODE_MODULES, '@supabase/functions-js/dist/module/'),
  '/node_modules/tslib/': path.join(NODE_MODULES, 'tslib/'),
};

const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">{"imports": {
  "@supabase/functions-js": "/node_modules/@supabase/functions-js/index.js",
  "tslib": "/node_modules/tslib/tslib.es6.mjs"}}</script>
<script type="module">
  import { FunctionsClient } from '@supabase/functions-js';
  // As supabase-js sets up its functions client: API key, client info, the session's token.
  window.invoke = async (functionsUrl, anonKey, token, name, options) => {
    const headers = { apikey: anonKey, 'X-Client-Info': 'supabase-js-web/2.119.0' };
    if (token) headers.Authorization = 'Bearer ' + token;
    const { data, error } = await new FunctionsClient(functionsUrl, { headers }).invoke(name, options);
    if (!error) return { data };
    const response = error.context instanceof Response ? error.context : null;
    return { error: error.name, status: response?.status ?? null, body: response ? await response.json() : null };
  };
  window.ready = true;
</script></head><body>frontend stand-in</body></html>`;

let browser;
let context;
const servers = [];

async function answer(request, response) {
  const { pathname } = new URL(request.url, 'http://stand-in');
  if (pathname === '/') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    return;
  }
  for (const [prefix, folder] of Object.entries(MODULES)) {
    if (pathname.startsWith(prefix) && !pathname.includes('..')) {
      // The build imports './types' without an extension, as bundlers resolve it.
      const file = path.join(folder, pathname.slice(prefix.length));
      for (const candidate of [file, `${file}.js`]) {
        try {
          const body = await readFile(candidate);
          response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(body);
          return;
        } catch (error) {
          if (error.code !== 'ENOENT' && error.code !== 'EISDIR') throw error;
        }
      }
    }
  }
  response.writeHead(404).end('not found');
}

async function serveFrontend(origin) {
  const { hostname, port } = new URL(origin);
  const server = createServer((request, response) => {
    answer(request, response).catch(() => response.writeHead(500).end());
  });
  await new Promise((done) => server.listen(Number(port), hostname, done));
  servers.push(server);
}

async function pageAt(origin) {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

function invokeFrom(page, token, name, options = {}) {
  return page.evaluate(([url, anonKey, bearer, fn, opts]) => window.invoke(url, anonKey, bearer, fn, opts),
    [FUNCTIONS_URL, F.anonKey, token, name, options]);
}

before(async () => {
  browser = await chromium.launch({
    executablePath: F.chromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext();
  for (const origin of Object.values(F.browserOrigins)) await serveFrontend(origin);
});

after(async () => {
  await browser?.close();
  for (const server of servers) server.close();
});

test('from the allowed origin: a call succeeds and an error is readable as the UI reads it', async () => {
  const page = await pageAt(F.browserOrigins.allowed);
  const ok = await invokeFrom(page, F.tokens.candidate, 'azure-speech-token');
  assert.equal(typeof ok.data?.token, 'string', JSON.stringify(ok));
  const created = await invokeFrom(page, F.tokens.creator, 'extract-requirements', {
    body: { jobDescription: 'Analyst: SQL and reports.', jobTitle: 'Data Analyst' } });
  assert.deepEqual(created.data?.requirements?.skills, ['SQL', 'Python'], JSON.stringify(created));
  const refused = await invokeFrom(page, F.tokens.outsider, 'generate-shortlist', { body: { roleId: F.ids.role } });
  assert.equal(refused.error, 'FunctionsHttpError');
  assert.equal(refused.status, 403);
  assert.equal(typeof refused.body.error, 'string');
});

test('from another origin the browser refuses the answer: the client sees a fetch error', async () => {
  const page = await pageAt(F.browserOrigins.refused);
  const result = await invokeFrom(page, F.tokens.candidate, 'azure-speech-token');
  assert.equal(result.error, 'FunctionsFetchError', JSON.stringify(result));
  assert.equal(result.status, null);
});
