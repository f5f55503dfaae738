/**
 * What both trigger catalogs do with one AgentTrigger before routing may use it: check its session
 * template against the AgentSession schema, and read its webhook secret through the SecretSource.
 * The outcome is a CatalogTrigger with the secret, or with a `problem` that names the field or the
 * Secret and what to do. A read that fails for a passing reason (the API server unreachable)
 * keeps the secret read before, so a blip never stops deliveries.
 */
import type { Logger } from '../common/logger.js';
import { type AgentTrigger, TRIGGER_SOURCES } from '../resources/types.js';
import type { CatalogTrigger } from './trigger-catalog.js';
import type { SecretSource } from './secret-source.js';
import { describeViolations, type SessionSpecValidator } from './template-validation.js';

/** The default key of `spec.webhookSecretRef`, as the CRD defaults it. */
export const WEBHOOK_SECRET_KEY = 'secret';

/** What resolving a trigger needs. */
export interface ResolveTriggerDeps {
  secrets: SecretSource;
  validator: SessionSpecValidator;
  logger: Logger;
}

/** The problem with the trigger's own fields, before any Secret is read. */
function specProblem(trigger: AgentTrigger, validator: SessionSpecValidator): string | undefined {
  const spec = trigger.spec as Partial<AgentTrigger['spec']> | undefined;
  if (!spec || !TRIGGER_SOURCES.includes(spec.source as never)) {
    return `spec.source must be one of ${TRIGGER_SOURCES.join(', ')}`;
  }
  if (typeof spec.sessionTemplate !== 'object' || spec.sessionTemplate === null) {
    return 'spec.sessionTemplate is required: the AgentSession spec each session starts from';
  }
  if (spec.source !== 'jira' && !spec.webhookSecretRef) {
    return 'spec.webhookSecretRef is required for a github, gitea or slack trigger: Shepherd refuses every delivery whose signature it cannot check.';
  }
  const check = validator.check(spec.sessionTemplate, 'spec.sessionTemplate');
  return check.ok ? undefined : describeViolations(check.violations);
}

/**
 * Resolves `trigger` for routing.
 *
 * @param previous The trigger's entry before, whose secret survives a failed read.
 */
export async function resolveCatalogTrigger(
  trigger: AgentTrigger,
  deps: ResolveTriggerDeps,
  previous?: CatalogTrigger,
): Promise<CatalogTrigger> {
  const problem = specProblem(trigger, deps.validator);
  const ref = trigger.spec?.webhookSecretRef;
  if (!ref) return problem ? { trigger, problem } : { trigger };
  const namespace = trigger.metadata.namespace ?? 'default';
  const key = ref.key ?? WEBHOOK_SECRET_KEY;
  let webhookSecret: string | undefined;
  try {
    webhookSecret = await deps.secrets.read(namespace, { name: ref.name, key });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.logger.warn(
      { trigger: `${namespace}/${trigger.metadata.name}`, secret: ref.name, error: message },
      "could not read the trigger's webhook Secret; keeping the value read before, if any",
    );
    if (previous?.webhookSecret) {
      return { trigger, webhookSecret: previous.webhookSecret, ...(problem ? { problem } : {}) };
    }
    return {
      trigger,
      problem: [
        problem,
        `the webhook Secret ${ref.name} in namespace ${namespace} could not be read (${message}); Shepherd reads it again shortly`,
      ]
        .filter(Boolean)
        .join('; '),
    };
  }
  if (webhookSecret === undefined || webhookSecret === '') {
    return {
      trigger,
      problem: [
        problem,
        `the webhook Secret ${ref.name} in namespace ${namespace} has no key ${key}; create it (kubectl create secret generic ${ref.name} -n ${namespace} --from-literal=${key}=…) with the webhook's shared secret`,
      ]
        .filter(Boolean)
        .join('; '),
    };
  }
  return { trigger, webhookSecret, ...(problem ? { problem } : {}) };
}

/** Triggers by source, in namespace/name order, for `bySource`. */
export function indexBySource(entries: Iterable<CatalogTrigger>): Map<string, CatalogTrigger[]> {
  const index = new Map<string, CatalogTrigger[]>();
  const sorted = [...entries].sort((a, b) =>
    `${a.trigger.metadata.namespace}/${a.trigger.metadata.name}`.localeCompare(
      `${b.trigger.metadata.namespace}/${b.trigger.metadata.name}`,
    ),
  );
  for (const entry of sorted) {
    const source = entry.trigger.spec?.source;
    if (!source) continue;
    index.set(source, [...(index.get(source) ?? []), entry]);
  }
  return index;
}

/** The catalog's key of trigger `name` in `namespace`. */
export function catalogKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The catalog's key of `trigger` (a trigger read without a namespace is in `default`). */
export function keyOf(trigger: AgentTrigger): string {
  return catalogKey(trigger.metadata.namespace ?? 'default', trigger.metadata.name);
}
