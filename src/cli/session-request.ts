/**
 * Turns `shepherd run`'s flags (or a session file) into the API's create body. Pure, so the flag
 * parsing rules are unit-tested; the API validates the result against the CRD.
 */
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import type { AgentSessionSpec, AgentType, RepoSpec } from '../resources/types.js';

/** The flags of `shepherd run`. */
export interface RunFlags {
  name?: string;
  agent?: string;
  prompt?: string;
  /** `url` or `url@branch`, repeatable. */
  repo?: string[];
  /** A shell command line, run with `sh -c`. */
  command?: string;
  /** The exact argv after `--`. */
  argv?: string[];
  timeout?: string;
  retries?: string;
  image?: string;
  model?: string;
  /** `key=value`, repeatable: session labels. */
  label?: string[];
  /** `key=value`, repeatable: runner pod annotations. */
  annotation?: string[];
  /** Keep the session open for more prompts after a turn (`spec.conversation.stopOnTurnFinished: false`). */
  keepOpen?: boolean;
  /** How long an open session waits for its next prompt, e.g. 2h. */
  inactivityTimeout?: string;
}

/** The create body the API takes. */
export interface CreateBody {
  apiVersion: 'shepherd.dev/v1alpha1';
  kind: 'AgentSession';
  metadata: { name: string; labels?: Record<string, string> };
  spec: AgentSessionSpec;
}

/**
 * Splits `url[@branch]`. The `@` only counts after the URL's path has begun, so `git@host:o/r`
 * and `https://user@host/r` keep theirs: `git@github.com:o/r.git@main` is branch `main`.
 */
export function splitRepo(value: string): RepoSpec {
  const at = value.lastIndexOf('@');
  if (at < 0) return { url: value };
  const scheme = value.indexOf('://');
  const pathStart =
    scheme >= 0 ? value.indexOf('/', scheme + 3) : value.startsWith('/') ? 0 : value.indexOf(':');
  if (pathStart >= 0 && at > pathStart && at < value.length - 1) {
    return { url: value.slice(0, at), branch: value.slice(at + 1) };
  }
  return { url: value };
}

/** `k=v` pairs as a map; throws naming the flag on a pair without `=`. */
export function parsePairs(
  pairs: readonly string[] | undefined,
  flag: string,
): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`${flag} takes key=value, not "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** A name for a session started without `--name`: the agent and a random suffix. */
export function generatedName(agent: string | undefined): string {
  return `${agent ?? 'session'}-${randomBytes(3).toString('hex')}`;
}

/** Parses a session file (YAML or JSON): a full AgentSession or just its spec. */
export function parseSessionFile(text: string): {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec: AgentSessionSpec;
} {
  const doc = parse(text) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object') throw new Error('the session file is empty or not an object');
  if ('spec' in doc)
    return doc as { metadata?: { name?: string; labels?: Record<string, string> }; spec: AgentSessionSpec };
  return { spec: doc };
}

/** The create body from flags, over a session file's content when one was given. */
export function buildCreateBody(flags: RunFlags, file?: ReturnType<typeof parseSessionFile>): CreateBody {
  const spec: AgentSessionSpec = { ...file?.spec };
  const argv = flags.argv?.length ? flags.argv : flags.command ? ['sh', '-c', flags.command] : undefined;
  if (flags.agent) spec.agent = flags.agent as AgentType;
  else if (argv && !spec.agent) spec.agent = 'command';
  if (argv) spec.command = argv;
  if (flags.prompt) spec.initialPrompt = flags.prompt;
  if (flags.repo?.length) spec.repos = flags.repo.map(splitRepo);
  if (flags.timeout) spec.timeout = flags.timeout;
  if (flags.retries !== undefined) {
    const retries = Number(flags.retries);
    if (!Number.isInteger(retries)) throw new Error(`--retries takes a whole number, not "${flags.retries}"`);
    spec.retries = retries;
  }
  if (flags.keepOpen || flags.inactivityTimeout) {
    spec.conversation = {
      ...spec.conversation,
      ...(flags.keepOpen ? { stopOnTurnFinished: false } : {}),
      ...(flags.inactivityTimeout ? { inactivityTimeout: flags.inactivityTimeout } : {}),
    };
  }
  if (flags.image) spec.image = flags.image;
  if (flags.model) spec.model = flags.model;
  const annotations = parsePairs(flags.annotation, '--annotation');
  if (annotations) {
    spec.podMetadata = {
      ...spec.podMetadata,
      annotations: { ...spec.podMetadata?.annotations, ...annotations },
    };
  }
  const labels = { ...file?.metadata?.labels, ...parsePairs(flags.label, '--label') };
  const name = flags.name ?? file?.metadata?.name ?? generatedName(spec.agent);
  return {
    apiVersion: 'shepherd.dev/v1alpha1',
    kind: 'AgentSession',
    metadata: { name, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
    spec,
  };
}
