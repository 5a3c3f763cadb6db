// Every former function a user calls, by its name, with the body the frontend
// sends (API.md "What the existing frontend sends and reads"), reading what the
// frontend reads; then the errors as the frontend sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, UUID, clearOfWindowEdge, failure, functionsAs, succeeded, supabaseClient } from './client.mjs';

const { tokens, ids, users } = F;
const JOB = {
  jobTitle: 'Senior Frontend Engineer',
  jobDescription: 'Build and own the candidate-facing React app.',
  companyName: 'Frontend Co',
};

test('create-organisation: name and optional fields, some null; reads organisation.id', async () => {
  const data = succeeded(await functionsAs(tokens.creator).invoke('create-organisation', {
    body: { name: 'Acme Corporation', industry: null, website: 'https://acme.example', description: null,
      billing_email: null },
  }));
  assert.match(data.organisation.id, UUID);
});

test('ai-interviewer (practice): opens with no messages; reads message', async () => {
  const data = succeeded(await functionsAs(tokens.candidate).invoke('ai-interviewer', {
    body: { messages: [], jobTitle: JOB.jobTitle, companyName: JOB.companyName, currentQuestionIndex: 0,
      isPractice: true },
  }));
  assert.equal(typeof data.message, 'string');
  assert.ok(data.message.length > 0);
});

test('ai-interviewer (live, with interviewId): reads message and competencyCovered', async () => {
  const data = succeeded(await functionsAs(tokens.candidate).invoke('ai-interviewer', {
    body: {
      interviewId: ids.liveInterview,
      messages: [
        { role: 'assistant', content: 'Welcome! Shall we begin?' },
        { role: 'user', content: 'Yes, I am ready. I recently shipped a hiring dashboard in React.' },
      ],
      ...JOB,
      requirements: { skills: ['React'], experience: ['5+ years'], qualifications: [], responsibilities: [] },
      interviewQuestions: ['Tell me about a product you shipped.'],
      orgValues: ['Innovation', 'Collaboration'],
      candidateContext: { skills: ['React'], experienceYears: 6, recentRoles: ['Frontend Developer'],
        educationLevel: 'bachelor' },
      competenciesCovered: [],
      competenciesToCover: ['communication', 'technical_skills'],
      currentQuestionIndex: 1,
      totalQuestions: 5,
      isPractice: false,
    },
  }));
  assert.ok(data.message.startsWith('Welcome!'));
  assert.equal(data.competencyCovered, 'communication');
});

test('score-interview: the frontend body; reads success and the scores', async () => {
  const data = succeeded(await functionsAs(tokens.scorer).invoke('score-interview', {
    body: {
      interviewId: ids.scoredInterview,
      transcripts: [{ speaker: 'candidate', content: 'I led the payments migration.', start_time_ms: 4000 }],
      jobTitle: 'Platform Engineer', jobDescription: 'Run the platform.',
      requirements: { skills: ['Go'], experience: [], qualifications: [], responsibilities: [] },
      orgValues: ['Ownership'],
      scoringRubric: null,
    },
  }));
  assert.equal(data.success, true);
  assert.equal(data.interviewId, ids.scoredInterview);
  assert.equal(data.overall_score, 75);
  assert.ok(data.dimensions.length > 0);
  for (const field of ['narrative_summary', 'candidate_feedback', 'anti_cheat_risk_level']) {
    assert.equal(typeof data[field], 'string', field);
  }
});

test('parse-resume: filePath and userId; reads data.personal (portfolio_url, location), employment, education, skills, summary', async () => {
  const data = succeeded(await functionsAs(tokens.candidate).invoke('parse-resume', {
    body: { filePath: `${users.candidate}/resume.pdf`, userId: users.candidate },
  }));
  assert.equal(data.success, true);
  const { personal, employment, education, skills, summary } = data.data;
  assert.ok('portfolio_url' in personal);
  assert.deepEqual(Object.keys(personal.location).sort(), ['country', 'postcode', 'state', 'suburb']);
  assert.equal(personal.last_name, 'Candidate');
  assert.ok(Array.isArray(employment) && Array.isArray(education) && skills.length === 2);
  assert.equal(typeof summary, 'string');
});

test('extract-requirements: jobDescription and jobTitle; reads requirements', async () => {
  const data = succeeded(await functionsAs(tokens.recruiter).invoke('extract-requirements', {
    body: { jobDescription: 'Analyst: SQL, Python, weekly reports.', jobTitle: 'Data Analyst' },
  }));
  assert.deepEqual(data.requirements.skills, ['SQL', 'Python']);
  assert.deepEqual(data.requirements.interviewQuestions, ['How do you test a query?']);
});

test('generate-shortlist: roleId; reads matches', async () => {
  const data = succeeded(await functionsAs(tokens.recruiter).invoke('generate-shortlist', {
    body: { roleId: ids.role },
  }));
  assert.equal(data.matches.length, 1);
  assert.equal(data.matches[0].applicationId, ids.application);
  assert.equal(data.matches[0].matchScore, 55);
  assert.deepEqual(data.matches[0].matchReasons, ['Ships React apps']);
  assert.equal(data.roleTitle, 'Senior Frontend Engineer');
});

test('acs-token-generator: userId and scopes; reads token, expiresOn, user', async () => {
  const data = succeeded(await functionsAs(tokens.candidate).invoke('acs-token-generator', {
    body: { userId: users.candidate, scopes: ['voip'] },
  }));
  assert.equal(typeof data.token, 'string');
  assert.ok(!Number.isNaN(Date.parse(data.expiresOn)));
  assert.match(data.user.communicationUserId, /^8:acs:/);
});

test('azure-speech-token: POST with no body; reads token, region, expiresIn', async () => {
  const data = succeeded(await functionsAs(tokens.candidate).invoke('azure-speech-token'));
  assert.equal(typeof data.token, 'string');
  assert.equal(typeof data.region, 'string');
  assert.equal(typeof data.expiresIn, 'number');
});

test('send-invitation: applicationId, candidateEmail, roleTitle, companyName; reads success', async () => {
  const data = succeeded(await functionsAs(tokens.recruiter).invoke('send-invitation', {
    body: { applicationId: ids.application, candidateEmail: 'jordan.candidate@example.test',
      roleTitle: 'Senior Frontend Engineer', companyName: 'Frontend Co' },
  }));
  assert.equal(data.success, true);
  assert.match(data.invitationId, UUID);
});

test('supabase-js unchanged but for the functions URL: session from Auth, functions from the app', async () => {
  const supabase = supabaseClient();
  const { error: sessionError } = await supabase.auth.setSession({ access_token: tokens.candidate,
    refresh_token: 'not-used-here' });
  assert.equal(sessionError, null);
  const data = succeeded(await supabase.functions.invoke('azure-speech-token'));
  assert.equal(typeof data.token, 'string');
  // Errors read the same way through supabase-js.
  const refused = await failure(await supabase.functions.invoke('generate-shortlist', { body: { roleId: ids.role } }));
  assert.equal(refused.status, 403);
});

test('401: signed out (supabase-js sends the anon key), expired token, no token at all', async () => {
  const signedOut = await failure(await supabaseClient().functions.invoke('create-organisation', {
    body: { name: 'Nobody Ltd' } }));
  assert.equal(signedOut.status, 401);
  const expired = await failure(await functionsAs(tokens.expired).invoke('extract-requirements', {
    body: { jobDescription: 'x' } }));
  assert.equal(expired.status, 401);
  const none = await failure(await functionsAs(null).invoke('azure-speech-token'));
  assert.equal(none.status, 401);
  assert.ok(none.headers.get('x-request-id'));
});

test('403: a user outside the organisation, and a candidate scoring an interview', async () => {
  const outsider = await failure(await functionsAs(tokens.outsider).invoke('generate-shortlist', {
    body: { roleId: ids.role } }));
  assert.equal(outsider.status, 403);
  const candidate = await failure(await functionsAs(tokens.candidate).invoke('score-interview', {
    body: { interviewId: ids.scoredInterview } }));
  assert.equal(candidate.status, 403);
});

test('404: an unknown role, and a function name that never existed; 405 with Allow for a wrong method', async () => {
  const role = await failure(await functionsAs(tokens.recruiter).invoke('generate-shortlist', {
    body: { roleId: '00000000-0000-4000-8000-000000000000' } }));
  assert.equal(role.status, 404);
  const unknown = await failure(await functionsAs(tokens.recruiter).invoke('no-such-function', { body: {} }));
  assert.equal(unknown.status, 404);
  const wrongMethod = await failure(await functionsAs(tokens.recruiter).invoke('create-organisation', {
    method: 'GET' }));
  assert.equal(wrongMethod.status, 405);
  assert.match(wrongMethod.headers.get('allow') ?? '', /POST/);
});

test('429: the UI finds "Rate limit" in the error, with retryAfter and Retry-After', async () => {
  await clearOfWindowEdge();
  const functions = functionsAs(tokens.limited);
  let limited = null;
  for (let call = 0; call < 20 && !limited; call += 1) {
    const result = await functions.invoke('generate-shortlist', { body: { roleId: ids.role } });
    if (result.error) {
      const seen = await failure(result);
      if (seen.status === 429) limited = seen;
      else assert.equal(seen.status, 403); // not a member: refused, and counted
    }
  }
  assert.ok(limited, 'no 429 within 20 calls');
  assert.match(limited.body.error, /Rate limit/);
  assert.equal(typeof limited.body.retryAfter, 'number');
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
});
