// The frontend's clients, set up as in the browser, pointed at the app.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FunctionsClient } from '@supabase/functions-js';
import { createClient } from '@supabase/supabase-js';

export const F = JSON.parse(process.env.FRONTEND_FIXTURE);
export const FUNCTIONS_URL = `${F.appUrl}/functions/v1`;
const CLIENT_INFO = 'supabase-js-web/2.119.0';

// Azure's front end puts the browser's address in X-Forwarded-For; each client
// here is a browser of its own (documentation range, never contacted), so rate
// limits of one test never spend another's budget.
export function browserAddress() {
  return `2001:db8:${randomBytes(2).toString('hex')}::${randomBytes(2).toString('hex')}`;
}

// What supabase-js hands its FunctionsClient: its global headers, the API key,
// and the signed-in user's access token as the bearer token (none when signed out).
export function functionsAs(token, { address = browserAddress() } = {}) {
  const headers = { 'X-Client-Info': CLIENT_INFO, apikey: F.anonKey, 'x-forwarded-for': address };
  if (token) headers.Authorization = `Bearer ${token}`;
  return new FunctionsClient(FUNCTIONS_URL, { headers });
}

// The cutover recipe of docs/CUTOVER.md: supabase-js unchanged, on the Supabase
// project's URL, with a fetch that sends only the functions URL to the app.
export function rewriteFunctionsFetch(supabaseUrl, functionsUrl) {
  const from = `${supabaseUrl.replace(/\/$/, '')}/functions/v1/`;
  const to = `${functionsUrl.replace(/\/$/, '')}/`;
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    return fetch(url.startsWith(from) ? to + url.slice(from.length) : input, init);
  };
}

// `sent`, when given, collects the names of the headers of each request.
export function supabaseClient({ address = browserAddress(), sent = null } = {}) {
  const rewrite = rewriteFunctionsFetch(F.supabaseUrl, FUNCTIONS_URL);
  const recording = (input, init) => {
    if (sent) for (const name of new Headers(init?.headers).keys()) sent.add(name);
    return rewrite(input, init);
  };
  return createClient(F.supabaseUrl, F.anonKey, {
    global: { fetch: recording, headers: { 'x-forwarded-for': address } },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

// How the frontend reads a failed call: `error.context` is the Response.
export async function failure(result) {
  assert.equal(result.data, null);
  assert.equal(result.error?.name, 'FunctionsHttpError', `expected an HTTP error, got ${result.error}`);
  const response = result.error.context;
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = await response.json();
  assert.equal(typeof body.error, 'string');
  return { status: response.status, body, headers: response.headers };
}

export function succeeded(result) {
  assert.equal(result.error, null, `call failed: ${result.error}`);
  return result.data;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Rate limits count in fixed windows: a test that fills one must not straddle a boundary.
export async function clearOfWindowEdge(windowSeconds = 60, neededSeconds = 15) {
  const remaining = windowSeconds - (Date.now() / 1000) % windowSeconds;
  if (remaining < neededSeconds) await new Promise((done) => setTimeout(done, (remaining + 0.05) * 1000));
}
