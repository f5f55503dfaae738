/**
 * The webhook signature schemes, checked against the vendors' own published vectors: GitHub's
 * test values from "Validating webhook deliveries" and the worked example of Slack's "Verifying
 * requests from Slack". Gitea's and Jira's schemes are the same HMAC with another header format,
 * so they are checked on GitHub's vector in their own header forms.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  signDelivery,
  verifyDelivery,
  verifyGiteaSignature,
  verifyGitHubSignature,
  verifyJiraSignature,
  verifySlackSignature,
} from '../../src/triggers/webhooks/signatures.js';

// docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
const GITHUB_SECRET = "It's a Secret to Everybody";
const GITHUB_PAYLOAD = Buffer.from('Hello, World!');
const GITHUB_DIGEST = '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

// api.slack.com/authentication/verifying-requests-from-slack (the worked example)
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SLACK_TIMESTAMP = '1531420618';
const SLACK_BODY = Buffer.from(
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
);
const SLACK_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const SLACK_NOW_MS = Number(SLACK_TIMESTAMP) * 1000;

test("GitHub's documented test vector verifies, and any change to body, secret or digest does not", () => {
  assert.deepEqual(verifyGitHubSignature(GITHUB_SECRET, GITHUB_PAYLOAD, `sha256=${GITHUB_DIGEST}`), {
    ok: true,
  });
  assert.deepEqual(
    verifyGitHubSignature(GITHUB_SECRET, Buffer.from('Hello, World?'), `sha256=${GITHUB_DIGEST}`),
    {
      ok: false,
      reason: 'mismatch',
    },
  );
  assert.deepEqual(verifyGitHubSignature('another secret', GITHUB_PAYLOAD, `sha256=${GITHUB_DIGEST}`), {
    ok: false,
    reason: 'mismatch',
  });
  const flipped = `${GITHUB_DIGEST.slice(0, -1)}${GITHUB_DIGEST.endsWith('7') ? '8' : '7'}`;
  assert.equal(verifyGitHubSignature(GITHUB_SECRET, GITHUB_PAYLOAD, `sha256=${flipped}`).ok, false);
  // Upper-case hex is the same digest.
  assert.equal(
    verifyGitHubSignature(GITHUB_SECRET, GITHUB_PAYLOAD, `sha256=${GITHUB_DIGEST.toUpperCase()}`).ok,
    true,
  );
});

test('a GitHub signature that is absent, truncated, of another algorithm or without its prefix is refused', () => {
  assert.deepEqual(verifyGitHubSignature(GITHUB_SECRET, GITHUB_PAYLOAD, undefined), {
    ok: false,
    reason: 'missing',
  });
  assert.deepEqual(verifyGitHubSignature(GITHUB_SECRET, GITHUB_PAYLOAD, ''), {
    ok: false,
    reason: 'missing',
  });
  assert.deepEqual(verifyGitHubSignature(GITHUB_SECRET, GITHUB_PAYLOAD, GITHUB_DIGEST), {
    ok: false,
    reason: 'malformed',
  });
  assert.deepEqual(
    verifyGitHubSignature(GITHUB_SECRET, GITHUB_PAYLOAD, `sha256=${GITHUB_DIGEST.slice(0, 40)}`),
    {
      ok: false,
      reason: 'malformed',
    },
  );
  assert.deepEqual(
    verifyGitHubSignature(GITHUB_SECRET, GITHUB_PAYLOAD, `sha1=${GITHUB_DIGEST.slice(0, 40)}`),
    {
      ok: false,
      reason: 'malformed',
    },
  );
});

test("Gitea's bare hex and Jira's sha256= forms carry the same HMAC of the raw body", () => {
  assert.equal(verifyGiteaSignature(GITHUB_SECRET, GITHUB_PAYLOAD, GITHUB_DIGEST).ok, true);
  assert.deepEqual(verifyGiteaSignature(GITHUB_SECRET, GITHUB_PAYLOAD, `sha256=${GITHUB_DIGEST}`), {
    ok: false,
    reason: 'malformed',
  });
  assert.equal(verifyJiraSignature(GITHUB_SECRET, GITHUB_PAYLOAD, `sha256=${GITHUB_DIGEST}`).ok, true);
  assert.equal(verifyJiraSignature('wrong', GITHUB_PAYLOAD, `sha256=${GITHUB_DIGEST}`).ok, false);
  // Forgejo's own header name is read when Gitea's is absent.
  assert.equal(
    verifyDelivery('gitea', GITHUB_SECRET, { 'x-forgejo-signature': GITHUB_DIGEST }, GITHUB_PAYLOAD, 0).ok,
    true,
  );
});

test("Slack's documented signing example verifies at its own timestamp", () => {
  assert.deepEqual(
    verifySlackSignature(SLACK_SECRET, SLACK_BODY, SLACK_SIGNATURE, SLACK_TIMESTAMP, SLACK_NOW_MS),
    {
      ok: true,
    },
  );
  assert.deepEqual(
    verifyDelivery(
      'slack',
      SLACK_SECRET,
      { 'x-slack-signature': SLACK_SIGNATURE, 'x-slack-request-timestamp': SLACK_TIMESTAMP },
      SLACK_BODY,
      SLACK_NOW_MS,
    ),
    { ok: true },
  );
  // The timestamp is part of what is signed: another one does not verify.
  assert.deepEqual(
    verifySlackSignature(SLACK_SECRET, SLACK_BODY, SLACK_SIGNATURE, '1531420619', SLACK_NOW_MS),
    {
      ok: false,
      reason: 'mismatch',
    },
  );
});

test("Slack's five-minute window: 300 s either way verifies, 301 s is stale whatever the signature", () => {
  const at = (offsetSeconds: number) =>
    verifySlackSignature(
      SLACK_SECRET,
      SLACK_BODY,
      SLACK_SIGNATURE,
      SLACK_TIMESTAMP,
      SLACK_NOW_MS + offsetSeconds * 1000,
    );
  assert.equal(at(300).ok, true);
  assert.equal(at(-300).ok, true);
  assert.deepEqual(at(301), { ok: false, reason: 'stale' });
  assert.deepEqual(at(-301), { ok: false, reason: 'stale' });
  assert.deepEqual(
    verifySlackSignature(SLACK_SECRET, SLACK_BODY, 'v0=00', SLACK_TIMESTAMP, SLACK_NOW_MS + 3600_000),
    { ok: false, reason: 'stale' },
  );
  assert.deepEqual(verifySlackSignature(SLACK_SECRET, SLACK_BODY, SLACK_SIGNATURE, undefined, SLACK_NOW_MS), {
    ok: false,
    reason: 'missing',
  });
  assert.deepEqual(
    verifySlackSignature(SLACK_SECRET, SLACK_BODY, SLACK_SIGNATURE, '15314206e1', SLACK_NOW_MS),
    {
      ok: false,
      reason: 'malformed',
    },
  );
});

test('signDelivery makes the headers each verifier takes', () => {
  const body = '{"hello":"world"}';
  const nowMs = 1_700_000_000_000;
  for (const source of ['github', 'gitea', 'jira', 'slack'] as const) {
    const headers = signDelivery(source, 's3cret', body, nowMs);
    assert.deepEqual(
      verifyDelivery(source, 's3cret', headers, Buffer.from(body), nowMs),
      { ok: true },
      source,
    );
    assert.equal(verifyDelivery(source, 'other', headers, Buffer.from(body), nowMs).ok, false, source);
  }
});
