/**
 * The runner's environment, built once for both runtimes: what is secret stays in the secret part,
 * and the Job (with its session Secret) and the local runner process give the runner the same
 * variables.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runnerEnvironment } from '../../src/runner-contract/environment.js';
import { buildSessionJob, HOME_PATH } from '../../src/runtime/kubernetes/builders/session-job.js';
import { buildSessionSecret } from '../../src/runtime/kubernetes/builders/session-secret.js';
import { createLocalActivities } from '../../src/runtime/local/local-activities.js';
import { attemptFiles, workspaceDir } from '../../src/runtime/local/local-sessions.js';
import type { ResolvedSession } from '../../src/session/resolved-session.js';
import { bareRepo } from '../support/git.js';
import { eventually } from '../support/kube.js';
import { PROMPT, resolvedSession } from './support/session-fixtures.js';

const TOKEN = 'sk-ant-secret-token-value';
const GIT_TOKEN = 'ghp_secret_git_token';
const root = mkdtempSync(join(tmpdir(), 'shepherd-runner-env-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A session whose one repository is a real bare repository, so the local clone step succeeds. */
function cloneableSession(): ResolvedSession {
  const base = resolvedSession();
  return resolvedSession({
    repos: base.repos.map((repo) => ({ ...repo, url: bareRepo(root) })),
  });
}

function secretsOf(session: ResolvedSession) {
  return { providerToken: TOKEN, repoTokens: { [session.repos[0]?.url ?? '']: GIT_TOKEN } };
}

/**
 * The environment the local runtime gives its runner, captured by a runner that writes it out,
 * and the data directory the runtime kept the session in.
 */
async function localRunnerEnvironment(
  session: ResolvedSession,
): Promise<{ env: Record<string, string>; dataDir: string }> {
  const dataDir = mkdtempSync(join(root, 'data-'));
  const activities = createLocalActivities({
    dataDir,
    runnerCommand: [
      process.execPath,
      '-e',
      "require('node:fs').writeFileSync(process.env.SHEPHERD_RESULT_FILE, JSON.stringify(process.env))",
    ],
    secretEnv: { 'api-key': TOKEN, token: GIT_TOKEN },
  });
  await activities.provisionWorkspace(session);
  await activities.provisionSecrets(session);
  await activities.launchRunner({ session, attempt: 1 });
  const files = attemptFiles(dataDir, session.namespace, session.name, 1);
  await eventually(
    'the local runner to exit',
    () => Promise.resolve(existsSync(files.exit)),
    (exited) => exited,
  );
  assert.equal(readFileSync(files.exit, 'utf8').trim(), '0', readFileSync(files.log, 'utf8'));
  return { env: JSON.parse(readFileSync(files.result, 'utf8')) as Record<string, string>, dataDir };
}

describe('the runner environment', () => {
  it('keeps the prompt, the tokens and the provider environment in the secret part only', () => {
    const session = resolvedSession();
    const { plain, secret } = runnerEnvironment(
      session,
      { attempt: 2, workspace: '/workspace', resultFile: '/dev/termination-log' },
      secretsOf(session),
    );
    assert.deepEqual(secret, {
      ANTHROPIC_BASE_URL: 'https://llm-gateway.internal',
      INITIAL_PROMPT: PROMPT,
      SHEPHERD_PROVIDER_TOKEN: TOKEN,
      SHEPHERD_GIT_TOKEN_0: GIT_TOKEN,
    });
    const shown = JSON.stringify(plain);
    for (const value of [PROMPT, TOKEN, GIT_TOKEN, 'llm-gateway.internal']) {
      assert.equal(shown.includes(value), false, value);
    }
    assert.equal(plain.SHEPHERD_ATTEMPT, '2');
    assert.equal(plain.SHEPHERD_WORKSPACE, '/workspace');
  });

  it('refuses to build without the token of a repository that needs one', () => {
    assert.throws(
      () =>
        runnerEnvironment(
          resolvedSession(),
          { attempt: 1, workspace: '/w', resultFile: '/w/r' },
          { providerToken: TOKEN },
        ),
      /no git token given for https:\/\/git\.example\.com\/team-a\/shop\.git/,
    );
  });

  it('the Job and its session Secret carry exactly the plain and the secret part', () => {
    const session = resolvedSession();
    const { plain, secret } = runnerEnvironment(
      session,
      { attempt: 3, workspace: '/workspace', resultFile: '/dev/termination-log' },
      secretsOf(session),
    );
    const container = buildSessionJob(session, 3).spec?.template.spec?.containers[0];
    assert.deepEqual(container?.env, [
      { name: 'HOME', value: HOME_PATH },
      ...Object.entries(plain).map(([name, value]) => ({ name, value })),
      ...session.env,
    ]);
    assert.deepEqual(buildSessionSecret(session, secretsOf(session)).stringData, secret);
  });

  it('the local runner process gets the same variables and values as the Job, with its own paths', async () => {
    const session = cloneableSession();
    const { env: local, dataDir } = await localRunnerEnvironment(session);
    const { plain, secret } = runnerEnvironment(
      session,
      {
        attempt: 1,
        workspace: workspaceDir(dataDir, session.namespace, session.name),
        resultFile: attemptFiles(dataDir, session.namespace, session.name, 1).result,
      },
      secretsOf(session),
    );
    const expected = { ...secret, LOG_LEVEL: 'debug', ...plain };
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((name) => [name, local[name]])), expected);

    assert.equal(local.SHEPHERD_TURN, '1');

    const job = buildSessionJob(session, 1).spec?.template.spec?.containers[0];
    const jobNames = new Set([
      ...(job?.env ?? []).map((variable) => variable.name).filter((name) => name !== 'HOME'),
      ...Object.keys(buildSessionSecret(session, secretsOf(session)).stringData ?? {}),
    ]);
    assert.deepEqual(jobNames, new Set(Object.keys(expected)));
  });

  it('the local runner process of a later turn gets its turn and that turn’s prompt', async () => {
    const session = { ...cloneableSession(), turn: 2, initialPrompt: 'Also fix the other test' };
    const { env } = await localRunnerEnvironment(session);
    assert.equal(env.SHEPHERD_TURN, '2');
    assert.equal(env.INITIAL_PROMPT, 'Also fix the other test');
  });
});
