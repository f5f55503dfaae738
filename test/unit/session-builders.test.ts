/**
 * The objects Shepherd creates for a session, built without a cluster: what a platform team
 * would check before letting agents run in their namespaces.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Job, V1ObjectMeta } from '@kubernetes/client-node';
import { buildSessionJob } from '../../src/runtime/kubernetes/builders/session-job.js';
import { buildSessionPvc } from '../../src/runtime/kubernetes/builders/session-pvc.js';
import {
  buildRunnerRole,
  buildRunnerRoleBinding,
  buildRunnerServiceAccount,
} from '../../src/runtime/kubernetes/builders/session-rbac.js';
import { buildSessionSecret } from '../../src/runtime/kubernetes/builders/session-secret.js';
import { RUNNER_ENV } from '../../src/runner-contract/variables.js';
import { sessionLabelValue } from '../../src/runtime/kubernetes/builders/session-names.js';
import { PROMPT, resolvedSession } from './support/session-fixtures.js';

const TOKEN = 'sk-ant-secret-token-value';
const GIT_TOKEN = 'ghp_secret_git_token';

function containers(job: V1Job): V1Container[] {
  const spec = job.spec?.template.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

function runner(job: V1Job): V1Container {
  const container = job.spec?.template.spec?.containers[0];
  assert.ok(container);
  return container;
}

function allObjects() {
  const session = resolvedSession();
  return {
    session,
    objects: [
      buildSessionPvc(session),
      buildSessionSecret(session, {
        providerToken: TOKEN,
        repoTokens: { [session.repos[0]?.url ?? '']: GIT_TOKEN },
      }),
      buildRunnerServiceAccount(session),
      buildRunnerRole(session),
      buildRunnerRoleBinding(session),
      buildSessionJob(session, 1),
    ] as Array<{ kind?: string; metadata?: V1ObjectMeta }>,
  };
}

describe('every child object', () => {
  it('carries the session label, the managed-by label and a controller ownerReference, so deleting the session deletes it', () => {
    const { session, objects } = allObjects();
    for (const object of objects) {
      const metadata = object.metadata;
      assert.equal(metadata?.namespace, 'team-a', object.kind);
      assert.equal(metadata?.labels?.['shepherd.dev/session'], 'fix-flaky-test', object.kind);
      assert.equal(metadata?.labels?.['app.kubernetes.io/managed-by'], 'shepherd', object.kind);
      assert.deepEqual(metadata?.ownerReferences, [
        {
          apiVersion: 'shepherd.dev/v1alpha1',
          kind: 'AgentSession',
          name: session.name,
          uid: session.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });

  it('a 70-character session name still labels every object with a valid label value', () => {
    const name = 'x'.repeat(70);
    const job = buildSessionJob(resolvedSession({ name }), 1);
    assert.equal(job.metadata?.labels?.['shepherd.dev/session'], sessionLabelValue(name));
    assert.ok((job.metadata?.labels?.['shepherd.dev/session'] ?? '').length <= 63);
    assert.equal(job.metadata?.annotations?.['shepherd.dev/session-name'], name);
  });
});

describe('the workspace PVC', () => {
  it('requests the resolved size and class, ReadWriteOnce', () => {
    const pvc = buildSessionPvc(resolvedSession());
    assert.equal(pvc.metadata?.name, 'fix-flaky-test-workspace');
    assert.deepEqual(pvc.spec?.accessModes, ['ReadWriteOnce']);
    assert.equal(pvc.spec?.resources?.requests?.storage, '10Gi');
    assert.equal(pvc.spec?.storageClassName, 'fast');
  });

  it('leaves the class to the cluster default when none is resolved', () => {
    const pvc = buildSessionPvc(resolvedSession({ workspace: { size: '1Gi', retain: true } }));
    assert.equal('storageClassName' in (pvc.spec ?? {}), false);
  });
});

describe('the session Secret', () => {
  it('holds the prompt, the provider token, the provider environment and the git token, only in stringData', () => {
    // As the Kubernetes runtime resolves it: the provider's variable names only; the activity
    // passes the values it read from the provider.
    const session = resolvedSession({
      provider: {
        name: 'anthropic',
        authTokenSecretRef: { name: 'anthropic-key', key: 'api-key' },
        environmentNames: ['ANTHROPIC_BASE_URL'],
      },
    });
    const secret = buildSessionSecret(session, {
      providerToken: TOKEN,
      repoTokens: { 'https://git.example.com/team-a/shop.git': GIT_TOKEN },
      providerEnvironment: { ANTHROPIC_BASE_URL: 'https://llm-gateway.internal' },
    });
    assert.equal(secret.metadata?.name, 'fix-flaky-test-session');
    assert.equal(secret.data, undefined);
    assert.deepEqual(secret.stringData, {
      ANTHROPIC_BASE_URL: 'https://llm-gateway.internal',
      [RUNNER_ENV.initialPrompt]: PROMPT,
      [RUNNER_ENV.providerToken]: TOKEN,
      SHEPHERD_GIT_TOKEN_0: GIT_TOKEN,
    });
  });

  it('a session resolved by an older worker, with the values in it, still gets them', () => {
    const secret = buildSessionSecret(resolvedSession({ repos: [] }), {});
    assert.equal(secret.stringData?.['ANTHROPIC_BASE_URL'], 'https://llm-gateway.internal');
  });

  it('a provider without a token gives a Secret without a token key', () => {
    const secret = buildSessionSecret(resolvedSession({ provider: { environmentNames: [] }, repos: [] }), {});
    assert.deepEqual(Object.keys(secret.stringData ?? {}), ['INITIAL_PROMPT']);
  });

  it('refuses to build when a repository needs a token the activity did not read', () => {
    assert.throws(
      () => buildSessionSecret(resolvedSession(), { providerToken: TOKEN }),
      /no git token given for https:\/\/git\.example\.com\/team-a\/shop\.git/,
    );
  });
});

describe('the runner RBAC', () => {
  it('lets the runner get and watch its own AgentSession and nothing else, never its status', () => {
    const role = buildRunnerRole(resolvedSession());
    assert.deepEqual(role.rules, [
      {
        apiGroups: ['shepherd.dev'],
        resources: ['agentsessions'],
        resourceNames: ['fix-flaky-test'],
        verbs: ['get', 'watch'],
      },
    ]);
  });

  it('binds that Role to the session ServiceAccount the Job uses', () => {
    const session = resolvedSession();
    const binding = buildRunnerRoleBinding(session);
    const account = buildRunnerServiceAccount(session);
    const job = buildSessionJob(session, 1);
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'fix-flaky-test-runner',
    });
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: account.metadata?.name, namespace: 'team-a' },
    ]);
    assert.equal(job.spec?.template.spec?.serviceAccountName, account.metadata?.name);
    assert.equal(job.spec?.template.spec?.automountServiceAccountToken, true);
  });
});

describe('the Job', () => {
  it('a Job never contains the prompt or the token as a literal value', () => {
    const job = buildSessionJob(resolvedSession(), 1);
    const text = JSON.stringify(job);
    assert.equal(text.includes(PROMPT), false, 'prompt');
    assert.equal(text.includes(TOKEN), false, 'provider token');
    assert.equal(text.includes(GIT_TOKEN), false, 'git token');
    assert.equal(text.includes('llm-gateway.internal'), false, 'provider environment');
    for (const container of containers(job)) {
      for (const variable of container.env ?? []) {
        assert.notEqual(variable.name, 'INITIAL_PROMPT', `${container.name} sets INITIAL_PROMPT literally`);
      }
    }
    assert.deepEqual(runner(job).envFrom, [{ secretRef: { name: 'fix-flaky-test-session' } }]);
  });

  it('the clone step reads the git token from the session Secret by reference', () => {
    const clone = buildSessionJob(resolvedSession(), 1).spec?.template.spec?.initContainers?.[0];
    assert.equal(clone?.name, 'clone');
    assert.deepEqual(
      clone?.env?.find((variable) => variable.name === 'SHEPHERD_GIT_TOKEN_0'),
      {
        name: 'SHEPHERD_GIT_TOKEN_0',
        valueFrom: { secretKeyRef: { name: 'fix-flaky-test-session', key: 'SHEPHERD_GIT_TOKEN_0' } },
      },
    );
    assert.match(
      clone?.command?.[2] ?? '',
      /clone_repo 'https:\/\/git\.example\.com\/team-a\/shop\.git' '\/workspace\/shop' 'main'/,
    );
  });

  it('is named after its attempt, is never retried by Kubernetes and has the session timeout as its deadline', () => {
    const job = buildSessionJob(resolvedSession(), 2);
    assert.equal(job.metadata?.name, 'fix-flaky-test-a2');
    assert.equal(job.metadata?.labels?.['shepherd.dev/attempt'], '2');
    assert.equal(job.spec?.backoffLimit, 0);
    assert.equal(job.spec?.activeDeadlineSeconds, 1800);
    assert.equal(job.spec?.ttlSecondsAfterFinished, undefined);
    assert.equal(job.spec?.template.spec?.restartPolicy, 'Never');
  });

  it('mounts the workspace PVC at /workspace in both steps', () => {
    const job = buildSessionJob(resolvedSession(), 1);
    assert.deepEqual(job.spec?.template.spec?.volumes, [
      { name: 'workspace', persistentVolumeClaim: { claimName: 'fix-flaky-test-workspace' } },
    ]);
    for (const container of containers(job)) {
      assert.deepEqual(container.volumeMounts, [{ name: 'workspace', mountPath: '/workspace' }]);
    }
  });

  it('passes the restricted Pod Security Standard in every container', () => {
    const job = buildSessionJob(resolvedSession(), 1);
    const pod = job.spec?.template.spec;
    assert.equal(pod?.securityContext?.runAsNonRoot, true);
    assert.equal(pod?.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    for (const container of containers(job)) {
      const context = container.securityContext;
      assert.equal(context?.allowPrivilegeEscalation, false, container.name);
      assert.deepEqual(context?.capabilities?.drop, ['ALL'], container.name);
      assert.equal(context?.runAsNonRoot, true, container.name);
      assert.equal(context?.runAsUser, 1000, container.name);
      assert.equal(context?.seccompProfile?.type, 'RuntimeDefault', container.name);
      assert.equal(container.terminationMessagePath, '/dev/termination-log');
      assert.equal(container.terminationMessagePolicy, 'FallbackToLogsOnError');
    }
  });

  it("copies podMetadata onto the pod, but Shepherd's own labels always win", () => {
    const session = resolvedSession({
      podMetadata: {
        labels: { team: 'a', 'shepherd.dev/session': 'spoofed' },
        annotations: { 'kwok.x-k8s.io/exit-code': '1' },
      },
    });
    const template = buildSessionJob(session, 4).spec?.template.metadata;
    assert.equal(template?.labels?.team, 'a');
    assert.equal(template?.labels?.['shepherd.dev/session'], 'fix-flaky-test');
    assert.equal(template?.labels?.['shepherd.dev/attempt'], '4');
    assert.equal(template?.annotations?.['kwok.x-k8s.io/exit-code'], '1');
  });

  it('gives the runner its session, attempt, repositories and the user env, with scheduling from the spec', () => {
    const job = buildSessionJob(resolvedSession(), 3);
    const env = Object.fromEntries(
      (runner(job).env ?? []).map((variable) => [variable.name, variable.value]),
    );
    assert.equal(env.SHEPHERD_SESSION_NAME, 'fix-flaky-test');
    assert.equal(env.SHEPHERD_ATTEMPT, '3');
    assert.equal(env.SHEPHERD_AGENT, 'claude');
    assert.equal(env.SHEPHERD_MODEL, 'claude-sonnet-4-5');
    assert.equal(env.LOG_LEVEL, 'debug');
    assert.deepEqual(JSON.parse(env.SHEPHERD_REPOS ?? '[]'), [
      {
        url: 'https://git.example.com/team-a/shop.git',
        dir: '/workspace/shop',
        branch: 'main',
        outputBranch: 'shepherd/fix-flaky-test',
        autoPush: true,
        tokenEnv: 'SHEPHERD_GIT_TOKEN_0',
      },
    ]);
    assert.deepEqual(runner(job).resources, {
      limits: { memory: '4Gi', cpu: '2' },
      requests: { memory: '1Gi', cpu: '500m' },
    });
    assert.deepEqual(job.spec?.template.spec?.nodeSelector, { pool: 'agents' });
    assert.equal(job.spec?.template.spec?.tolerations?.[0]?.key, 'dedicated');
  });

  it("pulls the runner image with the AgentConfig's pull secrets, and names none without them", () => {
    const pullSecrets = (job: V1Job) => job.spec?.template.spec?.imagePullSecrets;
    assert.deepEqual(pullSecrets(buildSessionJob(resolvedSession({ imagePullSecrets: ['registry'] }), 1)), [
      { name: 'registry' },
    ]);
    assert.equal(pullSecrets(buildSessionJob(resolvedSession(), 1)), undefined);
  });

  it('tells the runner its conversation turn: 1 for a session resolved without one, else the turn the workflow set', () => {
    const turnOf = (job: V1Job) =>
      runner(job).env?.find((variable) => variable.name === RUNNER_ENV.turn)?.value;
    assert.equal(turnOf(buildSessionJob(resolvedSession(), 1)), '1');
    assert.equal(turnOf(buildSessionJob(resolvedSession({ turn: 3 }), 1)), '3');
  });

  it('a command agent keeps the runner as entrypoint and hands it command and args in SHEPHERD_COMMAND', () => {
    const job = buildSessionJob(resolvedSession({ agent: 'command', command: ['make'], args: ['fix'] }), 1);
    assert.equal(runner(job).command, undefined, 'the image entrypoint (the runner) stays');
    const env = runner(job).env?.find((variable) => variable.name === 'SHEPHERD_COMMAND');
    assert.deepEqual(JSON.parse(env?.value ?? 'null'), ['make', 'fix']);
    assert.equal(
      runner(buildSessionJob(resolvedSession(), 1)).env?.some(
        (variable) => variable.name === 'SHEPHERD_COMMAND',
      ),
      false,
    );
  });
});
