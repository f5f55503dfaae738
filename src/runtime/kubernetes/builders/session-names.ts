/**
 * Deterministic names of a session's child objects, derived from the session's name alone, so a
 * retried activity finds the object an earlier try created instead of making a second one.
 *
 * A session name may be up to 253 characters, but a Job name and a label value may have at most
 * 63. A name that would be too long keeps a readable prefix and ends in a hash of the full session
 * name, so two long names sharing a prefix still give distinct children. The hash is FNV-1a in
 * plain TypeScript rather than node:crypto, so the workflow may compute names too.
 */

/** The longest Job name (the Job controller copies it into a label) and label value. */
export const MAX_NAME_LENGTH = 63;

/** Hex digits of the hash appended to a shortened name: 40 bits, ample for one namespace. */
const HASH_LENGTH = 10;

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/** FNV-1a (64-bit) of the UTF-8 bytes of `text`, as hex. */
export function fnv1a64(text: string): string {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  return hash.toString(16).padStart(16, '0');
}

/**
 * Joins a session name and a suffix within `MAX_NAME_LENGTH`. When the plain join is too long, the
 * session name is cut, stripped of trailing `-` and `.` (a name part may not end in them), and
 * followed by `-<hash of the full session name>` before the suffix.
 *
 * @param sessionName The AgentSession's name (a DNS subdomain).
 * @param suffix Appended as is, e.g. `-workspace`; empty for the label value.
 */
export function fitName(sessionName: string, suffix: string): string {
  const plain = `${sessionName}${suffix}`;
  if (plain.length <= MAX_NAME_LENGTH) return plain;
  const hash = fnv1a64(sessionName).slice(0, HASH_LENGTH);
  const room = MAX_NAME_LENGTH - suffix.length - HASH_LENGTH - 1;
  const prefix = sessionName.slice(0, Math.max(room, 0)).replace(/[-.]+$/, '');
  return prefix ? `${prefix}-${hash}${suffix}` : `${hash}${suffix}`;
}

/**
 * The value of the `shepherd.dev/session` label: the session name, or its shortened, hashed form
 * when the name is longer than 63 characters. Select a session's children with this value.
 */
export function sessionLabelValue(sessionName: string): string {
  return fitName(sessionName, '');
}

/** Names of the objects Shepherd creates for a session. */
export interface SessionObjectNames {
  /** The workspace PersistentVolumeClaim. */
  pvc: string;
  /** The session Secret (prompt, provider token and environment, git tokens). */
  secret: string;
  /** The ServiceAccount, Role and RoleBinding of the runner (one name for all three). */
  runner: string;
  /** The runner pods' egress NetworkPolicy (only when the namespace's policy restricts egress). */
  egress: string;
}

/** The names of a session's long-lived children. */
export function sessionObjectNames(sessionName: string): SessionObjectNames {
  return {
    pvc: fitName(sessionName, '-workspace'),
    secret: fitName(sessionName, '-session'),
    runner: fitName(sessionName, '-runner'),
    egress: fitName(sessionName, '-egress'),
  };
}

/** The Job of one attempt: `<session>-a<attempt>`, so each attempt is exactly one Job. */
export function jobName(sessionName: string, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a whole number from 1, got ${attempt}`);
  }
  return fitName(sessionName, `-a${attempt}`);
}
