/**
 * `npm run api`: the Shepherd API server, configured from the environment (see config.ts). It
 * builds the clients, the backend and the authenticator for the runtime, serves the app, and
 * shuts down gracefully on SIGINT/SIGTERM.
 */
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { buildApp } from './app.js';
import { localAuthenticator } from './auth.js';
import { apiConfigFromEnv } from './config.js';
import { loadKubeConfig } from '../runtime/kubernetes/kube-config.js';
import { kubernetesAuthenticator } from '../runtime/kubernetes/kubernetes-auth.js';
import { kubernetesBackend } from '../runtime/kubernetes/kubernetes-backend.js';
import { localBackend } from '../runtime/local/local-backend.js';
import { startServer } from './server.js';
import { jiraTicketStarter } from '../triggers/jira/jira-ticket-start.js';
import { startKubernetesTriggerCatalog } from '../triggers/kubernetes-trigger-catalog.js';
import { startLocalTriggerCatalog } from '../triggers/local-trigger-catalog.js';
import { kubernetesSecretSource } from '../triggers/secret-source.js';
import { kubernetesFollowUps, localFollowUps } from '../triggers/conversations/runtime-follow-ups.js';
import { parseForgesConfig } from '../forges/forge-registry.js';
import { traceKubernetesCalls } from '../observability/kubernetes-spans.js';
import { sessionLogFields } from '../observability/session-context.js';
import { startTracing } from '../observability/tracing.js';
import { clientInterceptors } from '../observability/client-interceptors.js';

const config = apiConfigFromEnv();
const tracing = startTracing('shepherd-api');
const logger = pino({ level: config.logLevel, base: { service: 'shepherd-api' }, mixin: sessionLogFields });
const connection = await Connection.connect(config.temporalConnection);
const client = new Client({
  connection,
  namespace: config.temporalNamespace,
  interceptors: clientInterceptors(),
});

let deps;
const triggerLogger = logger.child({ component: 'triggers' });
// Follow-ups read the forges the worker knows, for an API address not where the type puts it.
const forges = parseForgesConfig(process.env.SHEPHERD_FORGES);
if (config.runtime === 'kubernetes') {
  const kubeConfig = traceKubernetesCalls(loadKubeConfig(config.kubeconfig), tracing.tracer);
  deps = {
    backend: kubernetesBackend({
      kubeConfig,
      namespaces: config.watchNamespaces,
      client,
      taskQueue: config.taskQueue,
      logger,
      ...(config.defaultPolicy ? { defaultPolicy: config.defaultPolicy } : {}),
    }),
    auth: kubernetesAuthenticator({ kubeConfig }),
    webhooks: {
      catalog: startKubernetesTriggerCatalog({
        kubeConfig,
        namespaces: config.watchNamespaces,
        secrets: kubernetesSecretSource(kubeConfig),
        logger: triggerLogger,
      }),
      startJiraTicket: jiraTicketStarter({ client, taskQueue: config.taskQueue }),
      followUps: kubernetesFollowUps({ kubeConfig, client, forges, logger: triggerLogger }),
    },
  };
} else {
  const backend = localBackend({ client, taskQueue: config.taskQueue, dataDir: config.dataDir });
  deps = {
    backend,
    auth: localAuthenticator(config.apiToken),
    loopbackOnly: config.loopbackOnly,
    webhooks: {
      catalog: startLocalTriggerCatalog({ file: config.triggersFile, logger: triggerLogger }),
      startJiraTicket: jiraTicketStarter({ client, taskQueue: config.taskQueue }),
      followUps: localFollowUps({
        backend,
        triggersFile: config.triggersFile,
        client,
        forges,
        logger: triggerLogger,
      }),
    },
  };
}

const app = await buildApp({ ...deps, tracer: tracing.tracer }, { loggerInstance: logger });
const server = await startServer(app, { host: config.host, port: config.port });
logger.info({ url: server.url, runtime: config.runtime, taskQueue: config.taskQueue }, 'api listening');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'stopping');
    void server
      .close()
      .then(() => deps.webhooks.catalog.stop())
      .then(() => connection.close())
      .then(() => tracing.shutdown())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
}
