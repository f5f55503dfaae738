/**
 * The session activities on one host (the local runtime): the workspace is a directory, the
 * secrets are the runner process's environment (read from the worker's own environment, never
 * written to disk), and the Job is a detached runner process with its pid, log and exit files, so
 * a restarted worker re-attaches to a running runner instead of starting a second one.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { buildCloneScript } from '../../runner-contract/clone-script.js';
import { runnerEnvironment } from '../../runner-contract/environment.js';
import { shellQuote } from '../../runner-contract/shell.js';
import type { AgentSession, SecretKeyRef } from '../../resources/types.js';
import { providerEnvironment, resolveSession } from '../../session/resolve-session.js';
import type { ResolvedSession } from '../../session/resolved-session.js';
import { InvalidSpecError } from '../../session/errors.js';
import { CredentialsNotFoundError } from '../errors.js';
import { heartbeat, pause } from '../activity-context.js';
import type { LocalResources } from '../../triggers/local-resources.js';
import { localSecretValue } from '../../triggers/secret-source.js';
import type { RunnerStopped } from '../runner-stopped.js';
import type { LoadSessionInput, SessionActivities } from '../session-activities.js';
import { attemptFiles, localRunnerEvents, processAlive, readPid, workspaceDir } from './local-sessions.js';

/** Dependencies of the local activities. */
export interface LocalActivityDeps {
  /** Where sessions live (see local-sessions.ts). */
  dataDir: string;
  /** The runner command: the runner bundle under the worker's own Node.js (see local-runtime.ts). */
  runnerCommand: string[];
  /**
   * Where secrets come from: a Secret reference `{name, key}` is that Secret's key in the local
   * triggers file when the file has the Secret, else the variable `key`. @default process.env
   */
  secretEnv?: NodeJS.ProcessEnv;
  /** The local triggers file's resources. @default none */
  resources?: () => LocalResources;
  /** How long a stopped runner has to push its work before it is killed. @default 25000 */
  stopGraceMs?: number;
}

/** How long a killed runner's process may take to vanish before a stop returns anyway. */
const KILL_WAIT_MS = 5_000;

/** A stable uid for a session that has no CR, from its identity. */
function localUid(namespace: string, name: string): string {
  const hex = createHash('sha256').update(`${namespace}/${name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The wrapper around clone step and runner: it records the exit code in a file, and passes a
 * SIGTERM on to the runner (which then pushes its work) instead of dying with it.
 */
function wrapperScript(cloneFile: string, exitFile: string, runner: string[]): string {
  return `clone_file=${shellQuote(cloneFile)}
exit_file=${shellQuote(exitFile)}
finish() { echo "$1" > "$exit_file.tmp" && mv "$exit_file.tmp" "$exit_file"; exit 0; }
trap 'finish 143' TERM
sh "$clone_file" || finish $?
trap 'kill -TERM "$child" 2>/dev/null' TERM
${runner.map(shellQuote).join(' ')} &
child=$!
wait "$child"; code=$?
while [ "$code" -gt 128 ] && kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done
finish "$code"
`;
}

/** Builds the local implementation of {@link SessionActivities}. */
export function createLocalActivities(deps: LocalActivityDeps): SessionActivities {
  const { dataDir } = deps;
  const secretEnv = deps.secretEnv ?? process.env;
  const runner = deps.runnerCommand;
  const stopGraceMs = deps.stopGraceMs ?? 25_000;

  const resources = deps.resources ?? (() => ({ triggers: [], secrets: [] }));
  const readSecret = (namespace: string, ref: SecretKeyRef, purpose: string): string => {
    const value = localSecretValue(resources(), namespace, ref, secretEnv);
    if (value === undefined || value === '') {
      throw new CredentialsNotFoundError(
        `${purpose} (Secret ${ref.name}, key ${ref.key}): the local runtime reads it from that Secret in the triggers file (SHEPHERD_TRIGGERS_FILE), else from the environment variable ${ref.key}, which is not set for the worker; add it to the file, or export it and restart`,
      );
    }
    return value;
  };

  /**
   * The runner process's environment: the worker's, then the contract's secret part, the
   * session's own variables (only literal values: there is nothing to take `valueFrom` from here)
   * and the contract's plain part, layered as the Job's `envFrom` and `env` are.
   */
  const runnerEnv = (session: ResolvedSession, attempt: number): NodeJS.ProcessEnv => {
    const providerRef = session.provider.authTokenSecretRef;
    const providerToken = providerRef
      ? readSecret(session.namespace, providerRef, 'the provider token')
      : undefined;
    const repoTokens: Record<string, string> = {};
    for (const repo of session.repos) {
      if (repo.credentialsSecretRef)
        repoTokens[repo.url] = readSecret(
          session.namespace,
          repo.credentialsSecretRef,
          `the git token for ${repo.url}`,
        );
    }
    const { plain, secret } = runnerEnvironment(
      session,
      {
        attempt,
        workspace: workspaceDir(dataDir, session.namespace, session.name),
        resultFile: attemptFiles(dataDir, session.namespace, session.name, attempt).result,
      },
      { ...(providerToken === undefined ? {} : { providerToken }), repoTokens },
    );
    const sessionEnv = session.env.flatMap((variable) =>
      variable.value === undefined ? [] : [[variable.name, variable.value] as const],
    );
    return { ...process.env, ...secret, ...Object.fromEntries(sessionEnv), ...plain };
  };

  /** Sends `signal` to the runner wrapper of an attempt (SIGKILL: its whole group), if it is alive. */
  const signalRunner = (pid: number, signal: NodeJS.Signals) => {
    try {
      process.kill(signal === 'SIGKILL' ? -pid : pid, signal);
    } catch {
      // Gone in the meantime.
    }
  };

  /** Waits until `pid` has exited or `ms` have passed; true when it has exited. */
  const waitForExit = async (pid: number, ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (processAlive(pid)) {
      if (Date.now() >= deadline) return false;
      heartbeat({ pid });
      await pause(100);
    }
    return true;
  };

  /**
   * Stops an attempt's runner and returns once its process has exited: SIGTERM (the runner pushes
   * its work), then after `stopGraceMs` SIGKILL to the whole group, then at most `KILL_WAIT_MS`.
   */
  const stopAttempt = async (namespace: string, name: string, attempt: number): Promise<RunnerStopped> => {
    const files = attemptFiles(dataDir, namespace, name, attempt);
    const pid = readPid(files.pid);
    const result = (gone: boolean): RunnerStopped => {
      const ended = localRunnerEvents(dataDir, namespace, name, attempt).find((e) => e.kind === 'ended');
      return { podsGone: gone, ...(ended?.kind === 'ended' ? { termination: ended.termination } : {}) };
    };
    if (pid === undefined || !processAlive(pid)) return result(true);
    signalRunner(pid, 'SIGTERM');
    if (await waitForExit(pid, stopGraceMs)) return result(true);
    signalRunner(pid, 'SIGKILL');
    return result(await waitForExit(pid, KILL_WAIT_MS));
  };

  return {
    async loadSession(input: LoadSessionInput) {
      if (!input.spec) {
        throw new InvalidSpecError('spec', 'the local runtime needs the session spec in the workflow input');
      }
      const session: AgentSession = {
        apiVersion: 'shepherd.dev/v1alpha1',
        kind: 'AgentSession',
        metadata: {
          name: input.name,
          namespace: input.namespace,
          uid: input.uid ?? localUid(input.namespace, input.name),
          generation: 1,
          ...(input.labels ? { labels: input.labels } : {}),
        },
        spec: input.spec,
      };
      const resolved = resolveSession(session);
      // Unlike on Kubernetes, the values stay in the resolved session: the spec in the workflow
      // input is a local session's only record and carries them anyway, and nothing else could
      // give them to the runner process later.
      const environment = providerEnvironment(session.metadata.namespace!, resolved.provider, {
        spec: input.spec,
      });
      return {
        session: { ...resolved, provider: { ...resolved.provider, environment } },
        previousAttempt: input.previousAttempt ?? 0,
        ...(input.previousTurns?.length ? { previousTurns: input.previousTurns } : {}),
      };
    },

    async provisionWorkspace(session) {
      const dir = workspaceDir(dataDir, session.namespace, session.name);
      mkdirSync(dir, { recursive: true });
      return { name: dir, reason: 'Bound', description: `directory ${dir}` };
    },

    async provisionSecrets(session) {
      // Nothing is written: check now that every secret is there, so a missing one fails the
      // session before anything runs.
      runnerEnv(session, 0);
    },

    async launchRunner({ session, attempt }) {
      const files = attemptFiles(dataDir, session.namespace, session.name, attempt);
      // The pid file names the process, whether this try or an earlier one started it.
      // The pid file names the process, whether this try or an earlier one started it.
      const description = () => `process ${readPid(files.pid) ?? files.pid}`;
      if (existsSync(files.pid)) return { name: files.dir, created: false, description: description() };
      mkdirSync(files.dir, { recursive: true });
      const workspace = workspaceDir(dataDir, session.namespace, session.name);
      writeFileSync(files.clone, buildCloneScript(session.repos, workspace));
      const log = openSync(files.log, 'a');
      try {
        const child = spawn('sh', ['-c', wrapperScript(files.clone, files.exit, runner)], {
          cwd: workspace,
          env: runnerEnv(session, attempt),
          detached: true,
          stdio: ['ignore', log, log],
        });
        if (child.pid === undefined) throw new Error(`could not start the runner for attempt ${attempt}`);
        // The pid file is the "Job": once it exists a retried launch adopts the process.
        writeFileSync(`${files.pid}.tmp`, String(child.pid));
        renameSync(`${files.pid}.tmp`, files.pid);
        child.unref();
      } finally {
        closeSync(log);
      }
      return { name: files.dir, created: true, description: description() };
    },

    async observeRunner({ session, attempt }) {
      return localRunnerEvents(dataDir, session.namespace, session.name, attempt);
    },

    async stopRunner({ session, attempt }) {
      return stopAttempt(session.namespace, session.name, attempt);
    },

    async cleanup({ session, attempts, deleteWorkspace }) {
      for (const attempt of attempts) await stopAttempt(session.namespace, session.name, attempt);
      if (deleteWorkspace)
        rmSync(workspaceDir(dataDir, session.namespace, session.name), { recursive: true, force: true });
      // Attempt logs stay for `logs`; the session directory goes only with an explicit delete.
    },

    async mirrorStatus() {
      // No CR: the workflow's own state (query, search attributes) is the session record.
      return false;
    },
  };
}
