/**
 * The `kubectl` way to send a session a prompt: `kubectl annotate ags NAME shepherd.dev/prompt=…`.
 * What the controller does about the annotation is decided here, from the CR alone (pure, so every
 * case is checked without a cluster); the controller carries it out.
 *
 * The protocol, with any number of controller replicas:
 * 1. Claim: a replica writes PROMPT_CLAIM_ANNOTATION (the prompt's hash, a fresh nonce, itself,
 *    the time) with a resourceVersion precondition, so one replica wins and the others see its
 *    claim on their next event.
 * 2. Send: the claimer sends the prompt as a `sendPrompt` Update whose id comes from the claim
 *    (uid, hash, nonce). Sent again with that id — by the claimer after a timeout, or by another
 *    replica once the claim is older than the lease (the claimer crashed) — Temporal returns the
 *    first Update's answer instead of starting a second turn.
 * 3. Settle: the prompt and the claim are removed, with `test` operations on both values, so a
 *    newer prompt the user wrote meanwhile is never removed: it gets its own claim and is sent in
 *    its turn (and, the session being busy with the first, most likely refused, visibly). A
 *    refusal's message goes into PROMPT_REFUSED_ANNOTATION; a taken prompt removes an old one.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  PROMPT_ANNOTATION,
  PROMPT_CLAIM_ANNOTATION,
  PROMPT_REFUSED_ANNOTATION,
} from '../../resources/constants.js';
import type { AgentSession } from '../../resources/types.js';
import { MAX_PROMPT_CHARS } from '../../workflows/session-contract.js';

/** A claim on the prompt annotation's value. */
export interface PromptClaim {
  /** The first 16 hex digits of the SHA-256 of the prompt claimed. */
  hash: string;
  /** Fresh for each claim; with the hash, it names the Update that carries the prompt. */
  nonce: string;
  /** The controller replica that sends it. */
  holder: string;
  /** When it was claimed or taken over (epoch ms). */
  claimedAt: number;
}

/** What to do about a CR's prompt annotation. */
export type PromptStep =
  /** No prompt to send (none, or the CR is being deleted). */
  | { kind: 'none' }
  /** Write `claim` (JSON patch `ops`, to apply with a resourceVersion precondition), then decide again. */
  | { kind: 'claim'; claim: PromptClaim; ops: object[] }
  /** Send `prompt` as the Update `updateId` under `claim`, then settle. */
  | { kind: 'send'; prompt: string; claim: PromptClaim; updateId: string }
  /** Refuse the prompt without sending it (it is empty or too long), then settle. */
  | { kind: 'refuse'; claim: PromptClaim; message: string }
  /** Another replica holds a fresh claim: decide again after `retryInMs`, when it expires. */
  | { kind: 'wait'; retryInMs: number };

/** What became of a sent prompt, for the settling patch. */
export type PromptSettlement = { outcome: 'accepted' } | { outcome: 'refused'; message: string };

/** A JSON-patch path of an annotation (a `/` in a key is written `~1`). */
function annotationPath(key: string): string {
  return `/metadata/annotations/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/** The hash a claim names its prompt by. */
export function promptHash(prompt: string): string {
  return createHash('sha256').update(prompt).digest('hex').slice(0, 16);
}

/** A new id for a controller replica. */
export function newHolderId(): string {
  return randomBytes(4).toString('hex');
}

/** The annotation value of a claim. */
export function formatClaim(claim: PromptClaim): string {
  return `${claim.hash}.${claim.nonce}.${claim.holder}.${claim.claimedAt}`;
}

/** The claim an annotation value holds, or undefined for anything else (treated as no claim). */
export function parseClaim(value: string | undefined): PromptClaim | undefined {
  const match = /^([0-9a-f]{16})\.([0-9a-f]+)\.([0-9a-f]+)\.(\d+)$/.exec(value ?? '');
  if (!match) return undefined;
  const [, hash = '', nonce = '', holder = '', claimedAt = '0'] = match;
  return { hash, nonce, holder, claimedAt: Number(claimedAt) };
}

/** The id of the Update that carries a claimed prompt: the same for every replica that sends it. */
export function promptUpdateId(uid: string, claim: PromptClaim): string {
  return `kubectl-prompt/${uid}/${claim.hash}.${claim.nonce}`;
}

/** How the decision sees the controller replica deciding. */
export interface PromptDecider {
  /** This replica's id. */
  holder: string;
  now: number;
  /** How long a claim is its holder's alone; past it, another replica may send it. */
  leaseMs: number;
  /** A fresh nonce, for a new claim. */
  nonce: () => string;
}

/** What to do about the prompt annotation of `session`. */
export function promptStep(session: AgentSession, decider: PromptDecider): PromptStep {
  const { annotations = {}, uid, deletionTimestamp } = session.metadata;
  const prompt = annotations[PROMPT_ANNOTATION];
  if (prompt === undefined || !uid || deletionTimestamp) return { kind: 'none' };
  const hash = promptHash(prompt);
  const claim = parseClaim(annotations[PROMPT_CLAIM_ANNOTATION]);
  // No claim, or a claim on an earlier prompt the user has since replaced: claim this one afresh.
  if (!claim || claim.hash !== hash) {
    const fresh = { hash, nonce: decider.nonce(), holder: decider.holder, claimedAt: decider.now };
    return { kind: 'claim', claim: fresh, ops: claimOps(session, fresh) };
  }
  if (claim.holder !== decider.holder) {
    const age = decider.now - claim.claimedAt;
    if (age < decider.leaseMs) return { kind: 'wait', retryInMs: decider.leaseMs - age };
    // The holder is gone (or stuck): take over, keeping the nonce and with it the Update id.
    const takeover = { ...claim, holder: decider.holder, claimedAt: decider.now };
    return { kind: 'claim', claim: takeover, ops: claimOps(session, takeover) };
  }
  if (prompt.trim() === '') {
    return {
      kind: 'refuse',
      claim,
      message: `the ${PROMPT_ANNOTATION} annotation is empty: write the prompt into it`,
    };
  }
  if (prompt.length > MAX_PROMPT_CHARS) {
    return {
      kind: 'refuse',
      claim,
      message: `the prompt is longer than ${MAX_PROMPT_CHARS} characters; shorten it, or put the details in a file in the repository`,
    };
  }
  return { kind: 'send', prompt, claim, updateId: promptUpdateId(uid, claim) };
}

/** Operations that write `claim` on `session` (which has annotations: the prompt is one). */
function claimOps(session: AgentSession, claim: PromptClaim): object[] {
  const present = session.metadata.annotations?.[PROMPT_CLAIM_ANNOTATION] !== undefined;
  return [
    {
      op: present ? 'replace' : 'add',
      path: annotationPath(PROMPT_CLAIM_ANNOTATION),
      value: formatClaim(claim),
    },
  ];
}

/**
 * Operations that remove the prompt `claim` was for and the claim, and record the outcome. They
 * test both values first, so they apply only while the user has not written a newer prompt and
 * no other replica has settled it already.
 */
export function settleOps(session: AgentSession, claim: PromptClaim, settlement: PromptSettlement): object[] {
  const annotations = session.metadata.annotations ?? {};
  const prompt = annotations[PROMPT_ANNOTATION];
  const claimValue = annotations[PROMPT_CLAIM_ANNOTATION];
  const refusedPath = annotationPath(PROMPT_REFUSED_ANNOTATION);
  const hadRefusal = annotations[PROMPT_REFUSED_ANNOTATION] !== undefined;
  return [
    { op: 'test', path: annotationPath(PROMPT_ANNOTATION), value: prompt },
    { op: 'test', path: annotationPath(PROMPT_CLAIM_ANNOTATION), value: claimValue ?? formatClaim(claim) },
    { op: 'remove', path: annotationPath(PROMPT_ANNOTATION) },
    { op: 'remove', path: annotationPath(PROMPT_CLAIM_ANNOTATION) },
    ...(settlement.outcome === 'refused'
      ? [{ op: 'add', path: refusedPath, value: settlement.message }]
      : hadRefusal
        ? [{ op: 'remove', path: refusedPath }]
        : []),
  ];
}
