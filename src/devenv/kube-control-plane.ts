/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver (RBAC, static bearer tokens,
 * service-account token signing), kube-controller-manager, kube-scheduler, and KWOK with one fake
 * node. Every component listens on 127.0.0.1 only, on free ports, with its state in one directory.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { type Daemon, startDaemon, waitUntilReady } from '../processes/daemon.js';
import { writeTokenKubeconfig } from './kubeconfig.js';
import { FAKE_NODE, kwokStagesYaml } from './kwok-stages.js';
import { freePorts } from '../processes/ports.js';
import type { ToolPaths } from '../processes/tools.js';

/** A user the API server knows by a static bearer token. */
export interface DevUser {
  name: string;
  token: string;
  kubeconfigPath: string;
}

/** The running control plane. */
export interface KubeControlPlane {
  server: string;
  /** etcd's client URL (plain HTTP on loopback). */
  etcdUrl: string;
  caData: string;
  /** Admin kubeconfig (group system:masters). */
  kubeconfigPath: string;
  admin: DevUser;
  /** Unprivileged users with no RoleBinding: `alice` and `bob`. */
  users: DevUser[];
  daemons: Daemon[];
}

/**
 * Controllers the environment runs; enough for Jobs, garbage collection, namespaces and tokens,
 * and the ValidatingAdmissionPolicy status, whose type check of the CEL against the CRD schemas
 * the NamespacePolicy admission test reads.
 */
export const CONTROLLERS = [
  'job-controller',
  'cronjob-controller',
  'garbage-collector-controller',
  'ttl-after-finished-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'pod-garbage-collector-controller',
  'persistentvolume-binder-controller',
  'persistentvolumeclaim-protection-controller',
  'persistentvolume-protection-controller',
  'resourcequota-controller',
  'clusterrole-aggregation-controller',
  'validatingadmissionpolicy-status-controller',
];

const READY_TIMEOUT_MS = 90_000;

/** The default StorageClass: hostPath volumes provisioned by the controller manager. */
export const DEFAULT_STORAGE_CLASS = 'standard';

/** Probes `url` over HTTPS (trusting `ca`), true on HTTP 200. */
function httpsOk(url: string, ca: string | undefined, token?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        agent: new Agent({ ca, rejectUnauthorized: ca !== undefined }),
        headers: token ? { authorization: `Bearer ${token}` } : {},
        timeout: 2_000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts the control plane in `dir` and resolves once the fake node is Ready. */
export async function startKubeControlPlane(
  dir: string,
  tools: ToolPaths,
  onDaemon: (daemon: Daemon) => void,
): Promise<KubeControlPlane> {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const log = (name: string) => join(dir, 'logs', `${name}.log`);
  const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort, kwokPort] = (await freePorts(6)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daemons: Daemon[] = [];
  const track = (daemon: Daemon) => {
    daemons.push(daemon);
    onDaemon(daemon);
    return daemon;
  };

  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = track(
    startDaemon({
      name: 'etcd',
      command: tools.etcd,
      logFile: log('etcd'),
      args: [
        '--name=shepherd-dev',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=shepherd-dev=http://127.0.0.1:${etcdPeerPort}`,
        // A throwaway test store: durability across power loss is not worth the fsync latency.
        '--unsafe-no-fsync',
        // etcd's largest recommended database (the default, 2 GiB, is what thousands of sessions
        // with their Jobs, pods, volumes and Events can reach; then etcd refuses every write).
        '--quota-backend-bytes=8589934592',
        '--log-level=warn',
        // Heap and goroutine profiles on the client URL (loopback only): the benchmark saves them
        // when etcd's memory grows, to say what holds it.
        '--enable-pprof',
      ],
    }),
  );

  // Service-account token signing key, and the static tokens of the admin and the test users.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  const token = () => randomBytes(24).toString('hex');
  const tokens = { admin: token(), alice: token(), bob: token() };
  writeFileSync(
    join(dir, 'tokens.csv'),
    [
      `${tokens.admin},admin,uid-admin,"system:masters"`,
      `${tokens.alice},alice,uid-alice,"shepherd:test-users"`,
      `${tokens.bob},bob,uid-bob,"shepherd:test-users"`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  await waitUntilReady(etcd, () => httpOk(`${etcdUrl}/health`), READY_TIMEOUT_MS);

  const server = `https://127.0.0.1:${apiPort}`;
  const certDir = join(dir, 'apiserver-certs');
  const apiserver = track(
    startDaemon({
      name: 'kube-apiserver',
      command: tools.kubeApiserver,
      logFile: log('kube-apiserver'),
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        // The API server writes a self-signed CA and serving certificate for 127.0.0.1 here.
        `--cert-dir=${certDir}`,
        '--authorization-mode=RBAC',
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        // The `kubernetes` Service may not point at a loopback address; nothing here needs it.
        '--endpoint-reconciler-type=none',
        // That plugin taints a new node not-ready until the node-lifecycle controller clears it;
        // the fake node is Ready from the start, and that controller would only evict its pods.
        '--disable-admission-plugins=TaintNodesByCondition',
        // Go's profiles at /debug/pprof, for the admin only (RBAC): the scale bench reads them.
        '--profiling=true',
        '--v=1',
      ],
    }),
  );
  let caData = '';
  await waitUntilReady(
    apiserver,
    async () => {
      if (!caData) {
        try {
          caData = readFileSync(join(certDir, 'apiserver.crt'), 'utf8');
        } catch {
          return false;
        }
      }
      return httpsOk(`${server}/readyz`, caData, tokens.admin);
    },
    READY_TIMEOUT_MS,
  );

  const kubeconfig = (name: string, tok: string) =>
    writeTokenKubeconfig({ path: join(dir, `${name}.kubeconfig`), server, caData, user: name, token: tok });
  const admin: DevUser = {
    name: 'admin',
    token: tokens.admin,
    kubeconfigPath: kubeconfig('admin', tokens.admin),
  };
  const users: DevUser[] = (['alice', 'bob'] as const).map((name) => ({
    name,
    token: tokens[name],
    kubeconfigPath: kubeconfig(name, tokens[name]),
  }));
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, caData);

  const componentAuth = [
    `--kubeconfig=${admin.kubeconfigPath}`,
    `--authentication-kubeconfig=${admin.kubeconfigPath}`,
    `--authorization-kubeconfig=${admin.kubeconfigPath}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=false',
    '--kube-api-qps=200',
    '--kube-api-burst=400',
  ];
  const kcm = track(
    startDaemon({
      name: 'kube-controller-manager',
      command: tools.kubeControllerManager,
      logFile: log('kube-controller-manager'),
      args: [
        ...componentAuth,
        `--secure-port=${kcmPort}`,
        `--controllers=${CONTROLLERS.join(',')}`,
        `--service-account-private-key-file=${saKey}`,
        `--root-ca-file=${caFile}`,
        // Dynamic hostPath volumes (in /tmp of this host) for the default StorageClass below, so
        // a session's workspace PVC binds as it would on a cluster with a provisioner.
        '--enable-hostpath-provisioner',
        '--concurrent-job-syncs=20',
        '--concurrent-gc-syncs=20',
        '--v=1',
      ],
    }),
  );
  const scheduler = track(
    startDaemon({
      name: 'kube-scheduler',
      command: tools.kubeScheduler,
      logFile: log('kube-scheduler'),
      args: [...componentAuth, `--secure-port=${schedPort}`, '--v=1'],
    }),
  );
  const kwokConfig = join(dir, 'kwok.yaml');
  writeFileSync(kwokConfig, kwokStagesYaml());
  const kwok = track(
    startDaemon({
      name: 'kwok',
      command: tools.kwok,
      logFile: log('kwok'),
      args: [
        `--kubeconfig=${admin.kubeconfigPath}`,
        `--config=${kwokConfig}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${FAKE_NODE.annotation}=${FAKE_NODE.annotationValue}`,
        `--server-address=127.0.0.1:${kwokPort}`,
        '--node-ip=10.0.0.1',
      ],
    }),
  );

  await Promise.all([
    waitUntilReady(kcm, () => httpsOk(`https://127.0.0.1:${kcmPort}/healthz`, undefined), READY_TIMEOUT_MS),
    waitUntilReady(
      scheduler,
      () => httpsOk(`https://127.0.0.1:${schedPort}/healthz`, undefined),
      READY_TIMEOUT_MS,
    ),
    waitUntilReady(kwok, () => httpOk(`http://127.0.0.1:${kwokPort}/healthz`), READY_TIMEOUT_MS),
  ]);

  const kc = new k8s.KubeConfig();
  kc.loadFromFile(admin.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNode({
    body: {
      metadata: {
        name: FAKE_NODE.name,
        annotations: {
          [FAKE_NODE.annotation]: FAKE_NODE.annotationValue,
          'node.alpha.kubernetes.io/ttl': '0',
        },
        labels: { 'kubernetes.io/hostname': FAKE_NODE.name, 'kubernetes.io/os': 'linux', type: 'kwok' },
      },
      spec: {},
    },
  });
  await waitUntilReady(
    kwok,
    async () => {
      const node = await core.readNode({ name: FAKE_NODE.name });
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    },
    READY_TIMEOUT_MS,
  );
  await kc.makeApiClient(k8s.StorageV1Api).createStorageClass({
    body: {
      metadata: {
        name: DEFAULT_STORAGE_CLASS,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'kubernetes.io/host-path',
      reclaimPolicy: 'Delete',
      // As most clusters' default classes do: a volume is provisioned once its pod is scheduled.
      // With Immediate binding, thousands of pods waiting on their claims are retried by the
      // scheduler on every volume update, while the volume controller (one worker, scanning every
      // volume for each unbound claim) falls further behind: at 5,000 sessions 1,900 waited.
      volumeBindingMode: 'WaitForFirstConsumer',
    },
  });
  // Pods are admitted only once their namespace's `default` ServiceAccount exists.
  await waitUntilReady(
    kcm,
    async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return true;
    },
    READY_TIMEOUT_MS,
  );

  return { server, etcdUrl, caData, kubeconfigPath: admin.kubeconfigPath, admin, users, daemons };
}
