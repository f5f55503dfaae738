/**
 * Spans around the Kubernetes API calls the worker's activities and the API's handlers make:
 * every API client the kubeconfig makes (`makeApiClient`) is wrapped so that each of its
 * methods (`createNamespacedJob`, `readNamespacedPod`, …) runs inside a client span named
 * `kubernetes <method>`, with the API group class, the namespace and, on failure, the status code.
 * Wrapping the client rather than instrumenting HTTP keeps the span names meaningful and needs no
 * loader hook (client-node's fetch is bundled CommonJS, loaded before any instrumentation could
 * patch it). A call is traced only inside a traced piece of work (an activity, a request), so the
 * informers' lists and watches, which belong to no session, make no root spans of their own.
 */
import { SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { KubeConfig } from '@kubernetes/client-node';
import { currentSessionScope } from './session-context.js';
import { NAMESPACE_ATTRIBUTE, SESSION_ATTRIBUTE } from './session-span-exporter.js';

/** The HTTP status of a client-node ApiException, if `error` is one. */
function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Wraps one API client's methods in spans. */
function tracedClient<T extends object>(client: T, tracer: Tracer): T {
  const api = client.constructor.name;
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') {
        return value;
      }
      return function (this: unknown, ...args: unknown[]) {
        const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!trace.getActiveSpan()?.isRecording()) return call();
        const param = args[0] as { namespace?: unknown } | undefined;
        const scope = currentSessionScope();
        return tracer.startActiveSpan(
          `kubernetes ${property}`,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'k8s.api': api,
              ...(typeof param?.namespace === 'string' ? { 'k8s.namespace.name': param.namespace } : {}),
              ...(scope
                ? { [NAMESPACE_ATTRIBUTE]: scope.namespace, [SESSION_ATTRIBUTE]: scope.session }
                : {}),
            },
          },
          async (span) => {
            try {
              return await call();
            } catch (error) {
              const code = statusCode(error);
              if (code !== undefined) span.setAttribute('http.response.status_code', code);
              span.setStatus({ code: SpanStatusCode.ERROR, message: code ? `HTTP ${code}` : String(error) });
              throw error;
            } finally {
              span.end();
            }
          },
        );
      };
    },
  });
}

/** Makes every API client `kubeConfig` makes from now on trace its calls with `tracer`. */
export function traceKubernetesCalls(kubeConfig: KubeConfig, tracer: Tracer): KubeConfig {
  const make = kubeConfig.makeApiClient.bind(kubeConfig);
  kubeConfig.makeApiClient = (apiClientType) => tracedClient(make(apiClientType), tracer);
  return kubeConfig;
}
