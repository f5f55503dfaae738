/**
 * Shepherd's activity interceptor: what every activity gets at its boundary, so no activity has
 * to do it itself. The work of a session activity runs in that session's scope (its log lines
 * carry namespace, session and attempt; see session-context.ts), its span names the session and
 * attempt, its queue wait and duration are recorded, and a status the workflow writes
 * (`mirrorStatus`) feeds the session metrics, and each attempt of it is logged — at debug when it
 * succeeds, at warn when it fails — in that scope. Placed after Temporal's OpenTelemetry interceptor,
 * so the span it sees is the activity's own.
 */
import { trace } from '@opentelemetry/api';
import type { Context as ActivityContext } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from '../common/logger.js';
import type { AgentSessionStatus } from '../resources/types.js';
import { parseSessionWorkflowId } from '../workflows/session-contract.js';
import { type SessionScope, withSessionScope } from './session-context.js';
import { NAMESPACE_ATTRIBUTE, SESSION_ATTRIBUTE } from './session-span-exporter.js';
import type { WorkerMetrics } from './worker-metrics.js';

/** The span attribute naming the attempt an activity acts on. */
export const ATTEMPT_ATTRIBUTE = 'shepherd.attempt';

/** The session (and attempt) an activity of `ctx` acts on, if its workflow is a session's. */
function scopeOf(ctx: ActivityContext, input: unknown): SessionScope | undefined {
  const workflowId = ctx.info.workflowExecution?.workflowId;
  const ref = workflowId ? parseSessionWorkflowId(workflowId) : undefined;
  if (!ref) return undefined;
  const attempt = (input as { attempt?: unknown } | undefined)?.attempt;
  return {
    namespace: ref.namespace,
    session: ref.name,
    ...(typeof attempt === 'number' ? { attempt } : {}),
  };
}

/** The interceptor factory, for `interceptors.activity` of the worker. */
export function sessionActivityInterceptor(
  metrics: WorkerMetrics,
  logger: Logger,
): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const { info } = ctx;
        const startedAt = Date.now();
        const scope = scopeOf(ctx, input.args[0]);
        if (scope) {
          trace.getActiveSpan()?.setAttributes({
            [NAMESPACE_ATTRIBUTE]: scope.namespace,
            [SESSION_ATTRIBUTE]: scope.session,
            ...(scope.attempt !== undefined ? { [ATTEMPT_ATTRIBUTE]: scope.attempt } : {}),
          });
        }
        let outcome = 'error';
        const fields = () => ({
          activity: info.activityType,
          activityAttempt: info.attempt,
          workflowId: info.workflowExecution?.workflowId,
          durationMs: Date.now() - startedAt,
        });
        const run = async () => {
          try {
            const result = await next(input);
            logger.debug(fields(), 'activity completed');
            return result;
          } catch (error) {
            logger.warn({ ...fields(), error: (error as Error).message }, 'activity failed');
            throw error;
          }
        };
        try {
          const result = await (scope ? withSessionScope(scope, run) : run());
          outcome = 'ok';
          const execution = info.workflowExecution;
          if (info.activityType === 'mirrorStatus' && execution) {
            const { status } = input.args[0] as { status: AgentSessionStatus };
            metrics.observeStatus(execution, status);
          }
          return result;
        } finally {
          metrics.observeActivity(
            info.activityType,
            startedAt - info.currentAttemptScheduledTimestampMs,
            Date.now() - startedAt,
            outcome,
          );
        }
      },
    },
  });
}
