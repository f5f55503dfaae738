/**
 * The variables the runner adds to Claude Code's environment, decided from facts about the host so
 * the decision is pure and unit-tested.
 *
 * Claude Code refuses `--dangerously-skip-permissions` when it runs as root, unless it is told it
 * is in a sandbox: its check (2.1.x) is `getuid() === 0 && IS_SANDBOX !== "1" &&
 * !CLAUDE_CODE_BUBBLEWRAP`. A runner in a container is in one (a pod, or a container of its own
 * for the local runtime), so there the runner sets IS_SANDBOX=1; on a bare host as root it does
 * not, and Claude Code's refusal is reported as a prerequisite failure. An IS_SANDBOX the operator
 * set (in the provider's environment) is always kept, so `IS_SANDBOX=0` turns this off.
 *
 * A headless agent in a pod has no use for updating itself or for non-essential traffic
 * (telemetry, error reports, the connectivity probe), so those are off unless set otherwise.
 */

/** What the runner found out about the host it runs on. */
export interface HostFacts {
  /** The runner's user id; undefined where there is none (Windows). */
  uid: number | undefined;
  /** Whether the runner runs in a container (see `inContainer`). */
  inContainer: boolean;
}

/**
 * Whether these markers say the process runs in a container: a Kubernetes pod's service variables,
 * Docker's /.dockerenv, Podman's /run/.containerenv, or the `container` variable systemd-nspawn
 * and Podman set.
 */
export function inContainer(env: NodeJS.ProcessEnv, exists: (path: string) => boolean): boolean {
  return (
    Boolean(env.KUBERNETES_SERVICE_HOST) ||
    Boolean(env.container) ||
    exists('/.dockerenv') ||
    exists('/run/.containerenv')
  );
}

const QUIET_DEFAULTS: Record<string, string> = {
  DISABLE_AUTOUPDATER: '1',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
};

/** The variables to add to Claude Code's environment `env`; none that `env` already sets. */
export function claudeExtraEnv(env: NodeJS.ProcessEnv, host: HostFacts): Record<string, string> {
  const extra: Record<string, string> = {};
  for (const [name, value] of Object.entries(QUIET_DEFAULTS)) {
    if (env[name] === undefined) extra[name] = value;
  }
  if (host.uid === 0 && host.inContainer && env.IS_SANDBOX === undefined) extra.IS_SANDBOX = '1';
  return extra;
}

/** The fix for Claude Code's refusal to run as root, when that is what it refused. */
export function claudeRefusalHint(message: string): string | undefined {
  if (!/root\/sudo/.test(message)) return undefined;
  return "Claude Code runs with --dangerously-skip-permissions and refuses that as root outside a sandbox: run the runner as a non-root user, or set IS_SANDBOX=1 in the provider's environment if this host is a sandbox";
}
