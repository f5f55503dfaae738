/**
 * The `publishPullRequests` activity: for each repository the runner says it pushed, the output
 * branch is looked up on its forge (its tip must be the reported commit: the runner's word is not
 * enough), then one pull request is opened for it, or the open one updated. What the forge
 * refuses, or what has no forge or no credentials, is said on that repository and the others go
 * on; a forge that cannot be reached fails the whole activity so that Temporal retries it (each
 * step is idempotent: a second try updates the pull request the first one opened).
 */
import type { Logger } from 'pino';
import { readForgeCredentials, type ForgeCredentials } from '../forges/forge-credentials.js';
import { ForgeRefusedError, type Forge, type ForgeRepo } from '../forges/forge.js';
import { createForge, type ForgeConfig, forgeFor, forgeRepoOf } from '../forges/forge-registry.js';
import { type LinkBases, pullRequestText, sessionLinks } from '../forges/pull-request-text.js';
import type { AgentTrigger, ReconciledRepo } from '../resources/types.js';
import { CredentialsNotFoundError } from '../runtime/errors.js';
import type { ResolvedRepo, ResolvedSession } from '../session/resolved-session.js';
import type { SecretSource } from '../triggers/secret-source.js';
import type { PublishInput, PublishOutput } from './outcome-activities.js';

/** What the outcome activities need from the worker. */
export interface OutcomeDeps {
  secrets: SecretSource;
  /** The AgentTrigger `name` in `namespace`, or undefined when there is none. */
  readTrigger(namespace: string, name: string): Promise<AgentTrigger | undefined>;
  /** The forges the worker knows (SHEPHERD_FORGES, github.com). */
  forges: readonly ForgeConfig[];
  links: LinkBases;
  logger: Logger;
  /** For tests. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** The session's credentials for a repository's forge: its own git token, else its trigger's. */
async function credentialsFor(
  deps: OutcomeDeps,
  session: ResolvedSession,
  repo: ResolvedRepo | undefined,
  trigger: AgentTrigger | undefined,
): Promise<{ credentials: ForgeCredentials; source: string }> {
  const { namespace } = session;
  const own = repo?.credentialsSecretRef;
  if (own) {
    const source = `Secret ${namespace}/${own.name}`;
    if (own.key === 'token')
      return { credentials: await readForgeCredentials(deps.secrets, namespace, own.name), source };
    const token = await deps.secrets.read(namespace, own);
    if (!token)
      throw new CredentialsNotFoundError(
        `${source} has no key ${own.key}; add it or fix spec.repos[].credentialsSecretRef`,
      );
    return { credentials: { token }, source };
  }
  const shared = trigger?.spec.forge?.credentialsSecretRef;
  if (shared) {
    return {
      credentials: await readForgeCredentials(deps.secrets, namespace, shared.name),
      source: `Secret ${namespace}/${shared.name}`,
    };
  }
  throw new CredentialsNotFoundError(
    'no credentials for the forge: set spec.repos[].credentialsSecretRef to a Secret with a token that may open pull requests',
  );
}

function withMessage(repo: ReconciledRepo, message: string): ReconciledRepo {
  return { ...repo, message: repo.message ? `${repo.message}; ${message}` : message };
}

/** The reported commit is the branch's tip (either may be abbreviated). */
function sameCommit(reported: string | undefined, tip: string): boolean {
  if (!reported) return true;
  const a = reported.toLowerCase();
  const b = tip.toLowerCase();
  return a.startsWith(b) || b.startsWith(a);
}

/** Builds the `publishPullRequests` activity. */
export function createPublishPullRequests(deps: OutcomeDeps) {
  return async function publishPullRequests(input: PublishInput): Promise<PublishOutput> {
    const { resolved, reported } = input;
    const trigger = resolved.trigger?.name
      ? await deps.readTrigger(resolved.namespace, resolved.trigger.name)
      : undefined;
    const output: PublishOutput = { repos: [], refused: [], notFound: [] };
    for (const entry of reported) {
      if (entry.status !== 'Pushed' || !entry.branch) {
        output.repos.push(entry);
        continue;
      }
      const target = forgeFor(entry.url, resolved.pullRequest?.forge, deps.forges);
      const forgeRepo = target ? forgeRepoOf(target.url, entry.url) : undefined;
      if (!target || !forgeRepo) {
        output.repos.push(
          withMessage(
            entry,
            'no pull request: the repository is on no forge the worker knows (SHEPHERD_FORGES)',
          ),
        );
        continue;
      }
      try {
        const spec = resolved.repos.find((r) => r.url === entry.url);
        const { credentials, source } = await credentialsFor(deps, resolved, spec, trigger);
        const forge = createForge({
          ...target,
          credentials,
          credentialsSource: source,
          logger: deps.logger,
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
        });
        const pushed = { ...entry, branch: entry.branch };
        output.repos.push(await publishOne(forge, forgeRepo, pushed, spec, input, output, deps.links));
      } catch (error) {
        if (!(error instanceof ForgeRefusedError || error instanceof CredentialsNotFoundError)) throw error;
        output.refused.push(`${entry.url}: ${error.message}`);
        output.repos.push(withMessage(entry, `no pull request: ${error.message}`));
      }
    }
    return output;
  };
}

/** Checks one pushed branch and opens (or updates) its pull request. */
async function publishOne(
  forge: Forge,
  repo: ForgeRepo,
  entry: ReconciledRepo & { branch: string },
  spec: ResolvedRepo | undefined,
  input: PublishInput,
  output: PublishOutput,
  links: LinkBases,
): Promise<ReconciledRepo> {
  const { resolved } = input;
  const tip = await forge.branchCommit(repo, entry.branch);
  if (!tip || !sameCommit(entry.commit, tip)) {
    const seen = tip ? `its tip is ${tip.slice(0, 12)}` : 'it does not exist';
    const message = `the output branch ${entry.branch} is not on ${forge.url} at the reported commit ${entry.commit ?? '(none)'}: ${seen}`;
    output.notFound.push(`${entry.url}: ${message}`);
    return { ...entry, status: 'Failed', message };
  }
  const checked: ReconciledRepo = { ...entry, commit: tip };
  if (resolved.pullRequest?.enabled === false) {
    return withMessage(checked, 'verified on the forge; no pull request (spec.pullRequest.enabled is false)');
  }
  const base = spec?.branch ?? (await forge.defaultBranch(repo));
  const text = pullRequestText({
    namespace: resolved.namespace,
    name: resolved.name,
    ...(resolved.pullRequest?.title ? { title: resolved.pullRequest.title } : {}),
    ...(input.result ? { summary: input.result } : {}),
    links: sessionLinks(links, resolved.namespace, resolved.name),
    ...(input.usage ? { usage: input.usage } : {}),
    ...(resolved.trigger?.url ? { triggerUrl: resolved.trigger.url } : {}),
  });
  const pr = await forge.ensurePullRequest({
    repo,
    head: entry.branch,
    base,
    ...text,
    ...(resolved.pullRequest?.draft ? { draft: true } : {}),
    ...(resolved.pullRequest?.labels?.length ? { labels: resolved.pullRequest.labels } : {}),
  });
  const missing = pr.missingLabels?.length ? `; labels not on the forge: ${pr.missingLabels.join(', ')}` : '';
  return {
    ...checked,
    pullRequestUrl: pr.url,
    message: `pull request #${pr.number} ${pr.created ? 'opened' : 'updated'}${missing}`,
  };
}
