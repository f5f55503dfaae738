/**
 * The forge of a github or gitea AgentTrigger, with the trigger's own credentials
 * (`spec.forge.credentialsSecretRef`): where feedback comments go, and what a follow-up reads and
 * replies with. The worker's forge list gives the API's address when it is not where the type puts
 * it. Also returns the credential values, so the caller can keep them out of what it writes.
 */
import type { Logger } from '../common/logger.js';
import type { AgentTrigger } from '../resources/types.js';
import { CredentialsNotFoundError } from '../runtime/errors.js';
import type { SecretSource } from '../triggers/secret-source.js';
import type { Forge } from './forge.js';
import { readForgeCredentials } from './forge-credentials.js';
import { createForge, type ForgeConfig, GITHUB_COM } from './forge-registry.js';

/** What building a trigger's forge needs. */
export interface TriggerForgeDeps {
  secrets: SecretSource;
  /** The forges known (SHEPHERD_FORGES, github.com). */
  forges: readonly ForgeConfig[];
  logger?: Logger;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * The forge of `trigger` (source github or gitea), in the trigger's namespace. Throws
 * CredentialsNotFoundError when the trigger names no forge credentials or they cannot be read.
 */
export async function triggerForge(
  deps: TriggerForgeDeps,
  trigger: AgentTrigger,
): Promise<{ forge: Forge; secretValues: string[] }> {
  const namespace = trigger.metadata.namespace ?? 'default';
  const { source } = trigger.spec;
  if (source !== 'github' && source !== 'gitea') {
    throw new CredentialsNotFoundError(
      `AgentTrigger ${trigger.metadata.name} is of source ${source}, not a forge`,
    );
  }
  const secret = trigger.spec.forge?.credentialsSecretRef.name;
  if (!secret) {
    throw new CredentialsNotFoundError(
      `AgentTrigger ${trigger.metadata.name} names no spec.forge.credentialsSecretRef`,
    );
  }
  const credentials = await readForgeCredentials(deps.secrets, namespace, secret);
  const url = (trigger.spec.forge?.url ?? GITHUB_COM.url).replace(/\/+$/, '');
  const known = deps.forges.find((f) => f.type === source && f.url === url);
  const forge = createForge({
    ...(known ?? { type: source, url }),
    credentials,
    credentialsSource: `Secret ${namespace}/${secret}`,
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  return {
    forge,
    secretValues: Object.values(credentials).filter((v): v is string => typeof v === 'string'),
  };
}
