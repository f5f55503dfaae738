/**
 * `npm run bench:webhooks -- [--rate R] [--duration S] [--redeliveries N] [--warmup W]`: how fast the API
 * acknowledges webhook deliveries, and that redeliveries start nothing new. It starts a Temporal
 * dev server and the API as its own process (`src/api/main.ts`, local runtime) with one Gitea
 * trigger from a temporary SHEPHERD_TRIGGERS_FILE, then autocannon sends R deliveries per second
 * for S seconds, each signed with the trigger's secret: distinct issues labelled (one new session
 * each), and among them N redeliveries of one of them (the same payload under new delivery ids, as
 * Gitea's "Redeliver" sends it). It reports
 *  - the acknowledgement latency p50/p99 (target p99 ≤ 50 ms) and the status codes;
 *  - how many sessions the redelivered issue made (must be 1) and how many sessions exist in all
 *    (must be the distinct issues), counted from Temporal once the starts are made.
 * A warm-up of other issues (`--warmup`, default 300) runs first and is reported apart.
 * No worker runs: the sessions are started workflows, which is all an acknowledgement promises.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import autocannon from 'autocannon';
import { stopGroup } from '../src/processes/daemon.js';
import { freePorts } from '../src/processes/ports.js';
import { startTemporalDevServer } from '../src/processes/temporal-dev-server.js';
import { missingTools, repoRoot, toolPaths } from '../src/processes/tools.js';
import type { AgentTrigger } from '../src/resources/types.js';
import type { TriggerEvent } from '../src/triggers/trigger-event.js';
import { triggeredSessionName } from '../src/triggers/trigger-session.js';
import { signDelivery } from '../src/triggers/webhooks/signatures.js';
import { sessionWorkflowId } from '../src/workflows/session-contract.js';
import { cpuMs } from './process-usage.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '100' },
    duration: { type: 'string', default: '20' },
    redeliveries: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '300' },
  },
});
const rate = Number(values.rate);
const durationS = Number(values.duration);
const redeliveries = Number(values.redeliveries);
const warmups = Number(values.warmup);
const total = rate * durationS;
const NAMESPACE = 'bench';
const SECRET = 'bench-webhook-secret-9f2e';

if (missingTools(toolPaths()).length > 0) throw new Error('tools missing: run `npm run setup` first');
const dir = mkdtempSync(join(tmpdir(), 'shepherd-bench-webhooks-'));
mkdirSync(join(dir, 'logs'));
const triggersFile = join(dir, 'triggers.yaml');
writeFileSync(
  triggersFile,
  `apiVersion: shepherd.dev/v1alpha1
kind: AgentTrigger
metadata: {name: labelled, namespace: ${NAMESPACE}}
spec:
  source: gitea
  match: {label: shepherd}
  forge: {url: "http://127.0.0.1:3000", credentialsSecretRef: {name: forge}}
  webhookSecretRef: {name: webhook}
  sessionTemplate: {agent: command, command: [sh, -c, "true"]}
---
apiVersion: v1
kind: Secret
metadata: {name: webhook, namespace: ${NAMESPACE}}
stringData: {secret: ${SECRET}}
`,
);

/** A Gitea `issue_label` delivery for issue `issue`, as Gitea signs and sends it. */
function delivery(issue: number, deliveryId: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    action: 'label_updated',
    number: issue,
    issue: {
      id: issue,
      number: issue,
      html_url: `http://127.0.0.1:3000/alice/shop/issues/${issue}`,
      title: `Flaky test ${issue}`,
      body: 'It fails one run in ten.',
      labels: [{ id: 1, name: 'shepherd' }],
      pull_request: null,
    },
    repository: {
      id: 1,
      full_name: 'alice/shop',
      clone_url: 'http://127.0.0.1:3000/alice/shop.git',
      default_branch: 'main',
    },
    sender: { id: 2, login: 'alice' },
  });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-gitea-event': 'issues',
      'x-gitea-event-type': 'issue_label',
      'x-gitea-delivery': deliveryId,
      ...signDelivery('gitea', SECRET, body, Date.now()),
    },
  };
}

// The plan: `total` deliveries, every k-th one the redelivered issue (number 1) under a new id.
const REDELIVERED = 1;
const every = Math.max(1, Math.floor(total / Math.max(1, redeliveries)));
const plan: Array<{ body: string; headers: Record<string, string> }> = [];
let nextIssue = REDELIVERED + 1;
let redelivered = 0;
for (let i = 0; i < total; i += 1) {
  if (i % every === 0 && redelivered < redeliveries) {
    plan.push(delivery(REDELIVERED, `redelivery-${redelivered}`));
    redelivered += 1;
  } else {
    plan.push(delivery(nextIssue, `delivery-${i}`));
    nextIssue += 1;
  }
}
const distinctIssues = nextIssue - 1;
/** The warm-up's issues are numbered from here, apart from the measured ones. */
const WARM_ISSUES = 1_000_000;

const temporal = await startTemporalDevServer(dir, toolPaths().temporal, { ui: false });
const [apiPort] = await freePorts(1);
const api = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'api', 'main.ts')], {
  cwd: repoRoot,
  env: {
    ...process.env,
    SHEPHERD_RUNTIME: 'local',
    SHEPHERD_API_HOST: '127.0.0.1',
    SHEPHERD_API_PORT: String(apiPort),
    SHEPHERD_DATA_DIR: join(dir, 'data'),
    SHEPHERD_TRIGGERS_FILE: triggersFile,
    SHEPHERD_TASK_QUEUE: 'bench-webhooks',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
  detached: true,
});
const url = `http://127.0.0.1:${apiPort}`;
const connection = await Connection.connect({ address: temporal.address });
const client = new Client({ connection, namespace: temporal.namespace });

/** Waits (up to 2 minutes) until `expected` sessions exist in Temporal; returns how many do. */
async function waitForSessions(expected: number): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { count } = await client.workflow.count(`ShepherdNamespace = '${NAMESPACE}'`);
    if (count >= expected || Date.now() > deadline) return count;
    await sleep(1000);
  }
}

try {
  for (let i = 0; ; i += 1) {
    const ready = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (i > 300) throw new Error('the API did not start within 60 s');
    await sleep(200);
  }
  // Deliveries of other issues ahead of the run, at the same rate, so the measured
  // acknowledgements are of a process whose code is compiled, as a long-running API's is.
  const warm = Array.from({ length: Math.max(1, warmups) }, (_, i) =>
    delivery(WARM_ISSUES + i, `warm-up-${i}`),
  );
  let warmed = 0;
  const warmResult = await autocannon({
    url: `${url}/api/v1/webhooks/gitea`,
    method: 'POST',
    connections: 10,
    overallRate: rate,
    amount: warm.length,
    requests: [
      {
        setupRequest: (request) => {
          const next = warm[warmed % warm.length]!;
          warmed += 1;
          return { ...request, body: next.body, headers: next.headers };
        },
      },
    ],
  });
  console.log(
    `# warm-up: ${warm.length} deliveries of other issues, p50 ${warmResult.latency.p50} ms, p99 ${warmResult.latency.p99} ms (not counted below)`,
  );
  await waitForSessions(warm.length);

  console.log(
    `# ${total} Gitea deliveries at ${rate}/s for ${durationS} s: ${distinctIssues} distinct issues, ${redelivered} redeliveries of issue #${REDELIVERED}`,
  );
  let sent = 0;
  const apiCpuMs = () => {
    const ms = cpuMs(api.pid!);
    if (ms === undefined) throw new Error('the API process exited during the run');
    return ms;
  };
  const cpuBefore = apiCpuMs();
  const loadBefore = loadavg()[0]!;
  const result = await autocannon({
    url: `${url}/api/v1/webhooks/gitea`,
    method: 'POST',
    connections: 10,
    overallRate: rate,
    amount: total,
    requests: [
      {
        setupRequest: (request) => {
          const next = plan[sent % plan.length]!;
          sent += 1;
          return { ...request, body: next.body, headers: next.headers };
        },
      },
    ],
  });
  const codes = Object.entries(result.statusCodeStats ?? {})
    .map(([code, stat]) => `${code}: ${stat.count}`)
    .join(', ');
  console.log(
    `# acknowledgement latency: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms (target p99 ≤ 50 ms), max ${result.latency.max} ms`,
  );
  console.log(`# status codes: ${codes}; errors ${result.errors}, timeouts ${result.timeouts}`);
  const cpu = apiCpuMs() - cpuBefore;
  console.log(
    `# the API process used ${(cpu / 1000).toFixed(1)} s of CPU for the run (${(cpu / total).toFixed(2)} ms per delivery, starts included); machine load ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
  );

  // The session of the redelivered issue, named as the API names it, and every session made.
  const trigger = { metadata: { name: 'labelled' } } as AgentTrigger;
  const event = { source: 'gitea', deliveryId: `alice/shop#${REDELIVERED}/label/shepherd` } as TriggerEvent;
  const redeliveredId = sessionWorkflowId(NAMESPACE, triggeredSessionName(trigger, event));
  const expected = distinctIssues + Math.max(1, warmups);
  const made = await waitForSessions(expected);
  let runs = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${redeliveredId}'` })) runs += 1;
  console.log(
    `# sessions made by the ${redelivered} redeliveries of issue #${REDELIVERED}: ${runs} (must be 1)`,
  );
  console.log(`# sessions in all: ${made} for ${expected} distinct issues (warm-up included)`);
} finally {
  if (api.pid) await stopGroup(api.pid);
  await connection.close();
  await stopGroup(temporal.daemon.pid);
  rmSync(dir, { recursive: true, force: true });
}
