// Browsers preflight the headers supabase-js sends with a functions call: found
// here by sending one through supabase-js and recording its header names
// (x-forwarded-for is this test's stand-in for Azure's front end, not the browser's).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { corsHeaders } from '@supabase/supabase-js/cors';
import { F, FUNCTIONS_URL, functionsAs, supabaseClient } from './client.mjs';

let SENT = [];

before(async () => {
  const sent = new Set();
  await supabaseClient({ sent }).functions.invoke('create-organisation', { body: { name: 'Preflight Ltd' } });
  sent.delete('x-forwarded-for');
  SENT = [...sent].sort();
});

function preflight(origin, path = 'create-organisation') {
  return fetch(`${FUNCTIONS_URL}/${path}`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': SENT.join(', ') },
  });
}

test('preflight from the allowed origin allows POST and every header supabase-js sends', async () => {
  assert.deepEqual(SENT, ['apikey', 'authorization', 'content-type', 'x-client-info']);
  // The SDK's own list of what it may send covers them (it adds trace headers when tracing is on).
  const sdkList = corsHeaders['Access-Control-Allow-Headers'].split(',').map((name) => name.trim());
  for (const name of SENT) assert.ok(sdkList.includes(name), name);
  for (const path of ['create-organisation', 'ai-interviewer', 'azure-speech-token']) {
    const response = await preflight(F.allowedOrigin, path);
    assert.ok(response.status === 200 || response.status === 204, `${path}: ${response.status}`);
    assert.equal(response.headers.get('access-control-allow-origin'), F.allowedOrigin);
    assert.match(response.headers.get('access-control-allow-methods') ?? '', /POST/);
    const allowed = (response.headers.get('access-control-allow-headers') ?? '').toLowerCase()
      .split(',').map((name) => name.trim());
    for (const name of SENT) assert.ok(allowed.includes(name) || allowed.includes('*'), `${path}: ${name} not allowed`);
  }
});

test('preflight from another origin is refused', async () => {
  const response = await preflight(F.refusedOrigin);
  assert.equal(response.headers.get('access-control-allow-origin'), null);
  assert.ok(response.status >= 400, `status ${response.status}`);
});

test('the answer to the allowed origin can be read by its page (and exposes x-request-id)', async () => {
  const functions = functionsAs(F.tokens.candidate);
  functions.headers.Origin = F.allowedOrigin;
  const { data, error, response } = await functions.invoke('azure-speech-token');
  assert.equal(error, null);
  assert.equal(typeof data.token, 'string');
  assert.equal(response.headers.get('access-control-allow-origin'), F.allowedOrigin);
  assert.match(response.headers.get('access-control-expose-headers') ?? '', /x-request-id/i);
});
