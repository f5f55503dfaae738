/**
 * The `shepherd.dev/prompt` annotation protocol, decision by decision: a new prompt is claimed
 * before it is sent; the claimer sends it under an Update id every replica derives alike; another
 * replica waits out a fresh claim and takes over a stale one without changing the Update id; a
 * replaced prompt gets a claim of its own; an empty one is refused without a send; settling
 * removes the prompt only while it is still the one sent, and leaves a refusal where kubectl shows
 * it. Also: the refusals the API and the controller give at once from a CR's recorded phase are
 * the workflow's own words.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PROMPT_ANNOTATION,
  PROMPT_CLAIM_ANNOTATION,
  PROMPT_REFUSED_ANNOTATION,
} from '../../src/resources/constants.js';
import type { AgentSession, Phase } from '../../src/resources/types.js';
import {
  type PromptDecider,
  formatClaim,
  parseClaim,
  promptHash,
  promptStep,
  settleOps,
} from '../../src/runtime/kubernetes/prompt-annotation.js';
import { phaseRefusal } from '../../src/session-client/session-commands.js';
import { agentSession } from './support/session-fixtures.js';

const UID = 'uid-1';
const NOW = 1_900_000_000_000;
const LEASE = 30_000;
const PATH = (key: string) => `/metadata/annotations/${key.replace('/', '~1')}`;

function withAnnotations(annotations: Record<string, string>, extra: Partial<AgentSession['metadata']> = {}) {
  const session = agentSession();
  return { ...session, metadata: { ...session.metadata, uid: UID, annotations, ...extra } };
}

function replica(holder: string, now = NOW): PromptDecider {
  return { holder, now, leaseMs: LEASE, nonce: () => 'abcd0123' };
}

/** Applies JSON-patch ops to the annotations the way the API server would (tests must hold). */
function apply(session: AgentSession, ops: object[]): AgentSession | undefined {
  const annotations = { ...session.metadata.annotations };
  for (const op of ops as Array<{ op: string; path: string; value?: string }>) {
    const key = op.path.replace('/metadata/annotations/', '').replace('~1', '/');
    if (op.op === 'test' && annotations[key] !== op.value) return undefined;
    if (op.op === 'remove') {
      if (!(key in annotations)) return undefined;
      delete annotations[key];
    }
    if (op.op === 'add' || op.op === 'replace') annotations[key] = op.value ?? '';
  }
  return { ...session, metadata: { ...session.metadata, annotations } };
}

describe('the prompt annotation', () => {
  it('is claimed first, then sent by its claimer under an Update id from the claim', () => {
    const cr = withAnnotations({ [PROMPT_ANNOTATION]: 'also fix the other test' });
    const step = promptStep(cr, replica('aaaa'));
    assert.equal(step.kind, 'claim');
    const claimed = apply(cr, step.kind === 'claim' ? step.ops : []);
    assert.ok(claimed);
    const claim = parseClaim(claimed.metadata.annotations?.[PROMPT_CLAIM_ANNOTATION]);
    assert.deepEqual(claim, {
      hash: promptHash('also fix the other test'),
      nonce: 'abcd0123',
      holder: 'aaaa',
      claimedAt: NOW,
    });
    const send = promptStep(claimed, replica('aaaa', NOW + 5));
    assert.deepEqual(send, {
      kind: 'send',
      prompt: 'also fix the other test',
      claim,
      updateId: `kubectl-prompt/${UID}/${promptHash('also fix the other test')}.abcd0123`,
    });
  });

  it('is left to its claimer while the claim is fresh, and taken over, same Update id, once stale', () => {
    const claim = { hash: promptHash('go on'), nonce: 'feed', holder: 'aaaa', claimedAt: NOW };
    const cr = withAnnotations({
      [PROMPT_ANNOTATION]: 'go on',
      [PROMPT_CLAIM_ANNOTATION]: formatClaim(claim),
    });
    assert.deepEqual(promptStep(cr, replica('bbbb', NOW + 10_000)), { kind: 'wait', retryInMs: 20_000 });

    const takeover = promptStep(cr, replica('bbbb', NOW + LEASE));
    assert.equal(takeover.kind, 'claim');
    const taken = apply(cr, takeover.kind === 'claim' ? takeover.ops : []);
    assert.ok(taken);
    const send = promptStep(taken, replica('bbbb', NOW + LEASE + 1));
    assert.equal(send.kind, 'send');
    const original = promptStep(cr, replica('aaaa', NOW + 1));
    assert.equal(original.kind, 'send');
    if (send.kind === 'send' && original.kind === 'send') assert.equal(send.updateId, original.updateId);
  });

  it('gets a claim of its own when the user replaced the prompt the claim was for', () => {
    const claim = { hash: promptHash('first'), nonce: 'feed', holder: 'aaaa', claimedAt: NOW };
    const cr = withAnnotations({
      [PROMPT_ANNOTATION]: 'second',
      [PROMPT_CLAIM_ANNOTATION]: formatClaim(claim),
    });
    const step = promptStep(cr, replica('bbbb', NOW + 1));
    assert.equal(step.kind, 'claim');
    if (step.kind === 'claim') assert.equal(step.claim.hash, promptHash('second'));
  });

  it('is not acted on without a uid or while the session is being deleted, nor when absent', () => {
    assert.deepEqual(promptStep(withAnnotations({}), replica('aaaa')), { kind: 'none' });
    const deleting = withAnnotations(
      { [PROMPT_ANNOTATION]: 'x' },
      { deletionTimestamp: '2030-01-01T00:00:00Z' },
    );
    assert.deepEqual(promptStep(deleting, replica('aaaa')), { kind: 'none' });
  });

  it('is refused without being sent when it is empty', () => {
    const claim = { hash: promptHash('  '), nonce: 'feed', holder: 'aaaa', claimedAt: NOW };
    const cr = withAnnotations({ [PROMPT_ANNOTATION]: '  ', [PROMPT_CLAIM_ANNOTATION]: formatClaim(claim) });
    const step = promptStep(cr, replica('aaaa'));
    assert.equal(step.kind, 'refuse');
    if (step.kind === 'refuse') assert.match(step.message, /annotation is empty/);
  });

  it('is settled only while it is the prompt sent: a newer one stays for its own turn', () => {
    const claim = { hash: promptHash('go on'), nonce: 'feed', holder: 'aaaa', claimedAt: NOW };
    const sent = withAnnotations({
      [PROMPT_ANNOTATION]: 'go on',
      [PROMPT_CLAIM_ANNOTATION]: formatClaim(claim),
      [PROMPT_REFUSED_ANNOTATION]: 'an earlier refusal',
    });
    const ops = settleOps(sent, claim, { outcome: 'accepted' });
    assert.deepEqual(apply(sent, ops)?.metadata.annotations, {}, 'taken: prompt, claim and old refusal go');

    const newer = apply(sent, [{ op: 'replace', path: PATH(PROMPT_ANNOTATION), value: 'something else' }]);
    assert.ok(newer);
    assert.equal(apply(newer, ops), undefined, 'the settle does not apply over a newer prompt');
  });

  it('leaves a refusal in shepherd.dev/prompt-refused', () => {
    const claim = { hash: promptHash('go on'), nonce: 'feed', holder: 'aaaa', claimedAt: NOW };
    const sent = withAnnotations({
      [PROMPT_ANNOTATION]: 'go on',
      [PROMPT_CLAIM_ANNOTATION]: formatClaim(claim),
    });
    const settled = apply(
      sent,
      settleOps(sent, claim, { outcome: 'refused', message: 'session x is running turn 2' }),
    );
    assert.deepEqual(settled?.metadata.annotations, {
      [PROMPT_REFUSED_ANNOTATION]: 'session x is running turn 2',
    });
  });

  it('ignores a claim annotation that is not one', () => {
    assert.equal(parseClaim('garbage'), undefined);
    assert.equal(parseClaim(undefined), undefined);
  });
});

describe('a refusal from the recorded phase', () => {
  const input = { prompt: 'go on', source: 'api' as const };
  const refusal = (phase: Phase | undefined, kind: 'prompt' | 'answer' = 'prompt') =>
    phaseRefusal('s', { ...(phase ? { phase } : {}), turns: [{ number: 2, source: 'api' }] }, input, kind);

  it('refuses for a busy, stopping or finished session, in the words of the workflow', () => {
    assert.match(refusal(undefined) ?? '', /session s is running turn 2 \(phase Pending\)/);
    assert.match(refusal('Running') ?? '', /is running turn 2 \(phase Running\)/);
    assert.match(refusal('Stopping') ?? '', /is stopping/);
    for (const phase of ['Succeeded', 'Failed', 'TimedOut', 'Stopped'] as const) {
      assert.match(refusal(phase) ?? '', new RegExp(`has finished \\(${phase}\\)`));
    }
    assert.match(refusal('Idle', 'answer') ?? '', /no question waiting/);
  });

  it('leaves a waiting session to its workflow', () => {
    assert.equal(refusal('Idle'), undefined);
    assert.equal(refusal('WaitingForInput'), undefined);
    assert.equal(refusal('WaitingForInput', 'answer'), undefined);
  });
});
