// The AI provider reports exhausted credits (the model double answers 402 once):
// the frontend looks for "Usage limit" in the error, as the former functions said it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, failure, functionsAs } from './client.mjs';

test('402: the UI finds "Usage limit" in the error', async () => {
  const seen = await failure(await functionsAs(F.tokens.recruiter).invoke('extract-requirements', {
    body: { jobDescription: 'Analyst: SQL and reports.', jobTitle: 'Data Analyst' },
  }));
  assert.equal(seen.status, 402);
  assert.match(seen.body.error, /Usage limit/);
});
