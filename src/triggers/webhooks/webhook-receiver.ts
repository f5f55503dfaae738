/**
 * From a webhook delivery's raw body to sessions, answered from memory:
 *
 * 1. The signature is checked against the webhook secrets of the source's triggers (each distinct
 *    secret once); the delivery is authentic when one verifies, and only the triggers whose secret
 *    verified may take it. A delivery no secret verifies is refused (401), logged with its source,
 *    the reason, its delivery id and the remote address — never its body or signature.
 * 2. The body is decoded and parsed by the source's parser (400 when authentic but malformed).
 * 3. The triggers are matched (trigger-match.ts); each match names its session deterministically
 *    (triggeredSession), and the session's spec is checked against the CRD now, so the answer
 *    lists only sessions that will be created.
 * 4. A (source, trigger, event delivery id) seen recently is a duplicate: answered with the same
 *    session names, nothing new queued. Beyond this process's memory (another replica, a
 *    restart), creating the same name again is AlreadyExists, which counts as done.
 * 5. The starts are queued (start-queue.ts) and made after the answer: SessionBackend.create for
 *    forge and Slack triggers; for Jira, the injected `startJiraTicket`, which claims the ticket
 *    and starts its workflow `jira/<site>/<key>`.
 * 6. A follow-up — a comment addressed to Shepherd on a session's issue or pull request, a reply in
 *    its Slack thread, its pull request closed — is planned from memory too (one per namespace,
 *    src/triggers/conversations/follow-up-match.ts) and queued with the starts of its namespace: it
 *    looks for the session after the answer, and only when none takes it are those sessions
 *    started, as they would be without conversations. So the answer of such a delivery names the
 *    sessions it would start, and says the choice is made after it.
 *
 * No Kubernetes or Temporal call happens before the answer.
 */
import type { StartJiraTicket } from '../jira/jira-ticket-start.js';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../common/logger.js';
import { ApiError } from '../../api/errors.js';
import type { ApiMetrics } from '../../api/metrics.js';
import type { SessionBackend } from '../../api/session-backend.js';
import type { AgentTrigger, TriggerSource } from '../../resources/types.js';
import { eventThread, planFollowUps } from '../conversations/follow-up-match.js';
import type { FollowUpDeps } from '../conversations/follow-up-ports.js';
import { createFollowUps } from '../conversations/follow-ups.js';
import type { SessionSpecValidator } from '../template-validation.js';
import type { CatalogTrigger, TriggerCatalog } from '../trigger-catalog.js';
import { matchDelivery } from '../trigger-match.js';
import { triggeredSession } from '../trigger-session.js';
import { decodeBody, type ParsedDelivery } from './delivery.js';
import { parseGiteaDelivery } from './gitea-events.js';
import { parseGitHubDelivery } from './github-events.js';
import { parseJiraDelivery } from './jira-events.js';
import { type Headers, headerValue, type SignatureFailure, verifyDelivery } from './signatures.js';
import { parseSlackDelivery } from './slack-events.js';
import { createStartQueue, type StartQueueOptions, type StartQueueStats } from './start-queue.js';

/** A delivery as the route hands it over. */
export interface WebhookRequest {
  headers: Headers;
  /** The raw body; undefined when the request had none. */
  body: Buffer | undefined;
  /** For the log of a refused delivery. */
  remoteAddress: string;
}

/** A session a delivery starts (or started before). */
export interface SessionRef {
  namespace: string;
  name: string;
  /** The AgentTrigger, in the same namespace. */
  trigger: string;
}

/** The answer's body. Every field is optional: Slack's URL check is answered with `challenge` alone. */
export interface WebhookAck {
  status?: 'accepted' | 'duplicate' | 'ignored';
  message?: string;
  sessions?: SessionRef[];
  /** Slack url_verification. */
  challenge?: string;
  /** Slack slash command: shown to the user who ran it only. */
  response_type?: 'ephemeral';
  /** Slack slash command: what the user sees. */
  text?: string;
}

/** A successful answer. */
export interface WebhookAnswer {
  statusCode: 200 | 202;
  body: WebhookAck;
}

/** Claims a Jira ticket and starts its workflow (src/triggers/jira/jira-ticket-start.ts). */
export type { StartJiraTicket } from '../jira/jira-ticket-start.js';

/** What the receiver needs. */
export interface WebhookReceiverOptions {
  catalog: TriggerCatalog;
  backend: Pick<SessionBackend, 'create'>;
  /** Checks the spec of each session before it is promised. */
  validator: SessionSpecValidator;
  logger: Logger;
  /** Jira deliveries start nothing without it (they are acknowledged and logged). */
  startJiraTicket?: StartJiraTicket;
  /**
   * Follow-ups: comments, Slack thread replies and closed pull requests for sessions that exist
   * (src/triggers/conversations/). Without it every delivery only starts new sessions.
   */
  followUps?: FollowUpDeps;
  metrics?: Pick<ApiMetrics, 'webhookDeliveries'>;
  /** The clock, for Slack's timestamp window. @default Date.now */
  now?: () => number;
  /** The recent deliveries remembered. @default 10000 for 24 hours */
  dedupe?: { max?: number; ttlMs?: number };
  queue?: Omit<StartQueueOptions, 'logger'>;
}

/** Receives deliveries. */
export interface WebhookReceiver {
  /** Answers a delivery (throws an ApiError for a refusal), queueing its starts. */
  receive(source: TriggerSource, request: WebhookRequest): WebhookAnswer;
  /** Resolves once every queued start was made (or given up). */
  idle(): Promise<void>;
  /** Stops taking starts; lets queued ones finish within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  stats(): StartQueueStats;
}

/** The delivery id a source's headers carry, for logs. */
function headerDeliveryId(source: TriggerSource, headers: Headers): string | undefined {
  switch (source) {
    case 'github':
      return headerValue(headers, 'x-github-delivery');
    case 'gitea':
      return headerValue(headers, 'x-gitea-delivery') ?? headerValue(headers, 'x-forgejo-delivery');
    case 'jira':
      return headerValue(headers, 'x-atlassian-webhook-identifier');
    case 'slack':
      return undefined;
  }
}

/** The most telling reason among the secrets' failures. */
function worstReason(reasons: Set<SignatureFailure>): SignatureFailure {
  for (const reason of ['stale', 'missing', 'malformed', 'mismatch'] as const) {
    if (reasons.has(reason)) return reason;
  }
  return 'mismatch';
}

const SIGNATURE_HEADER: Record<TriggerSource, string> = {
  github: 'X-Hub-Signature-256',
  gitea: 'X-Gitea-Signature',
  jira: 'X-Hub-Signature',
  slack: 'X-Slack-Signature',
};

function refusalMessage(source: TriggerSource, reason: SignatureFailure | 'no-trigger'): string {
  switch (reason) {
    case 'no-trigger':
      return `no ${source} AgentTrigger with a readable webhook secret exists, so no ${source} delivery can be verified; create one with spec.webhookSecretRef`;
    case 'missing':
      return `the delivery has no ${SIGNATURE_HEADER[source]}${source === 'slack' ? ' or X-Slack-Request-Timestamp' : ''} header; set a secret on the webhook`;
    case 'malformed':
      return `the ${SIGNATURE_HEADER[source]} header is not in ${source}'s format`;
    case 'stale':
      return "the X-Slack-Request-Timestamp is more than 5 minutes from the API's clock: a replay, or a clock to fix";
    case 'mismatch':
      return `the ${SIGNATURE_HEADER[source]} signature does not verify with the webhook secret of any ${source} AgentTrigger; check the webhook's secret and the trigger's webhookSecretRef`;
  }
}

function parse(source: TriggerSource, headers: Headers, payload: unknown): ParsedDelivery {
  switch (source) {
    case 'github':
      return parseGitHubDelivery(headers, payload);
    case 'gitea':
      return parseGiteaDelivery(headers, payload);
    case 'jira':
      return parseJiraDelivery(headers, payload);
    case 'slack':
      return parseSlackDelivery(payload);
  }
}

/** Whether a failed create may succeed later: Kubernetes or Temporal busy or away. */
function createRetryable(error: unknown): boolean {
  if (error instanceof ApiError) return error.statusCode >= 500 || error.statusCode === 429;
  return true;
}

const ref = (trigger: AgentTrigger) => `${trigger.metadata.namespace ?? 'default'}/${trigger.metadata.name}`;

/** Creates a receiver; call `stop` when the API stops. */
export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  const { catalog, backend, validator, logger, startJiraTicket, metrics } = options;
  const followUps = options.followUps ? createFollowUps({ ...options.followUps, logger }) : undefined;
  const now = options.now ?? Date.now;
  const seen = new LRUCache<string, true>({
    max: options.dedupe?.max ?? 10_000,
    ttl: options.dedupe?.ttlMs ?? 24 * 60 * 60 * 1000,
  });
  const queue = createStartQueue({ logger, ...options.queue });
  let ready = false;
  void catalog.ready().then(() => {
    ready = true;
  });

  const count = (source: TriggerSource, outcome: string) =>
    metrics?.webhookDeliveries.inc({ source, outcome });

  /** The source's triggers whose secret verifies the delivery; throws the refusal when none does. */
  const verified = (source: TriggerSource, request: WebhookRequest, body: Buffer): CatalogTrigger[] => {
    const withSecret = catalog.bySource(source).filter((entry) => entry.webhookSecret);
    const bySecret = new Map<string, boolean>();
    const reasons = new Set<SignatureFailure>();
    const nowMs = now();
    const ok = withSecret.filter((entry) => {
      const secret = entry.webhookSecret!;
      let good = bySecret.get(secret);
      if (good === undefined) {
        const check = verifyDelivery(source, secret, request.headers, body, nowMs);
        good = check.ok;
        if (!check.ok) reasons.add(check.reason);
        bySecret.set(secret, good);
      }
      return good;
    });
    if (ok.length > 0) return ok;
    const reason = withSecret.length === 0 ? 'no-trigger' : worstReason(reasons);
    count(source, 'refused');
    logger.warn(
      {
        source,
        reason,
        deliveryId: headerDeliveryId(source, request.headers),
        remoteAddress: request.remoteAddress,
      },
      'webhook delivery refused',
    );
    throw new ApiError('InvalidSignature', refusalMessage(source, reason), { reason });
  };

  const invalid = (source: TriggerSource, request: WebhookRequest, text: string): never => {
    count(source, 'invalid');
    logger.warn(
      { source, deliveryId: headerDeliveryId(source, request.headers), reason: text },
      'webhook delivery is not what the source documents',
    );
    throw new ApiError('InvalidRequest', text);
  };

  return {
    receive(source, request) {
      if (!ready) {
        throw new ApiError(
          'TriggersNotReady',
          'the API has not read the AgentTriggers yet; the source should deliver again shortly',
        );
      }
      const body = request.body ?? Buffer.alloc(0);
      const triggers = verified(source, request, body);
      const decoded = decodeBody(headerValue(request.headers, 'content-type'), body, source === 'slack');
      if (!decoded.ok) return invalid(source, request, decoded.message);
      const parsed = parse(source, request.headers, decoded.payload);
      if (parsed.kind === 'invalid') return invalid(source, request, parsed.message);
      if (parsed.kind === 'challenge') {
        count(source, 'challenge');
        return { statusCode: 200, body: { challenge: parsed.challenge } };
      }
      const deliveryId = headerDeliveryId(source, request.headers);
      const slash = parsed.kind === 'events' && parsed.events[0]?.kind === 'slashCommand';
      const answer = (statusCode: 200 | 202, ack: WebhookAck): WebhookAnswer => {
        if (!slash) return { statusCode, body: ack };
        // Slack shows a slash command's answer to the user who ran it; it wants a 200.
        return { statusCode: 200, body: { ...ack, response_type: 'ephemeral', text: ack.message ?? '' } };
      };
      if (parsed.kind === 'ignored') {
        count(source, 'ignored');
        logger.debug({ source, deliveryId, reason: parsed.reason }, 'webhook delivery ignored');
        return answer(200, { status: 'ignored', message: parsed.reason, sessions: [] });
      }

      const usable = triggers.filter((entry) => !entry.problem);
      for (const { trigger } of matchDelivery(
        triggers.filter((entry) => entry.problem).map((entry) => entry.trigger),
        parsed.events,
      )) {
        logger.warn(
          {
            source,
            deliveryId,
            trigger: ref(trigger),
            problem: catalog.get(trigger.metadata.namespace ?? 'default', trigger.metadata.name)?.problem,
          },
          'a trigger that cannot be used matches the delivery',
        );
      }
      const matched = matchDelivery(
        usable.map((entry) => entry.trigger),
        parsed.events,
      );

      const sessions: SessionRef[] = [];
      let jobs: Array<{
        /** The delivery's key in the recent deliveries. */
        key: string;
        /** The queue's key: jobs with one key run one at a time. */
        queueKey: string;
        /** Keys of the starts a follow-up carries, remembered with it. */
        carries?: string[];
        session?: SessionRef;
        start: () => Promise<void>;
        retryable: (e: unknown) => boolean;
        what: Record<string, unknown>;
      }> = [];
      let duplicates = 0;
      let broken = 0;
      for (const { trigger, event } of matched) {
        const key = `${source}\n${ref(trigger)}\n${event.deliveryId}`;
        const what = { source, deliveryId, trigger: ref(trigger), eventId: event.deliveryId };
        if (source === 'jira') {
          if (!startJiraTicket) {
            logger.warn(what, 'a Jira delivery matches a trigger, but this API has no Jira starter');
            continue;
          }
          if (seen.has(key)) {
            duplicates += 1;
            continue;
          }
          jobs.push({
            key,
            queueKey: key,
            what: { ...what, ticket: event.jira?.key },
            start: async () => {
              await startJiraTicket({ trigger, event });
            },
            retryable: () => true,
          });
          continue;
        }
        const session = triggeredSession(trigger, event);
        const check = validator.check(session.spec);
        if (!check.ok) {
          logger.error(
            { ...what, session: session.name, violations: check.violations },
            "the session the trigger builds breaks the AgentSession schema; fix the trigger's sessionTemplate",
          );
          broken += 1;
          continue;
        }
        const sessionRef = {
          namespace: session.namespace,
          name: session.name,
          trigger: trigger.metadata.name,
        };
        sessions.push(sessionRef);
        if (seen.has(key)) {
          duplicates += 1;
          continue;
        }
        jobs.push({
          key,
          queueKey: `${session.namespace}/${session.name}`,
          session: sessionRef,
          what: { ...what, session: `${session.namespace}/${session.name}` },
          start: async () => {
            try {
              await backend.create({
                namespace: session.namespace,
                name: session.name,
                labels: session.labels,
                spec: check.spec,
              });
            } catch (error) {
              // Created before: by this delivery's twin on another replica, or before a restart.
              if (error instanceof ApiError && error.code === 'AlreadyExists') return;
              throw error;
            }
          },
          retryable: createRetryable,
        });
      }

      let followed = 0;
      for (const plan of followUps
        ? planFollowUps(
            usable.map((entry) => entry.trigger),
            parsed.events,
          )
        : []) {
        const key = `${source}\nfollow-up\n${plan.namespace}\n${plan.event.deliveryId}`;
        // The namespace's new sessions wait for the follow-up: made only when no session takes it.
        const starts = jobs.filter((job) => job.session?.namespace === plan.namespace);
        jobs = jobs.filter((job) => !starts.includes(job));
        if (seen.has(key)) {
          duplicates += 1;
          continue;
        }
        followed += 1;
        jobs.push({
          key,
          // One at a time per thread, so two comments in a row reach the session in order.
          queueKey: `${plan.namespace}/thread/${eventThread(plan.event) ?? plan.event.deliveryId}`,
          carries: starts.map((job) => job.key),
          what: {
            source,
            deliveryId,
            namespace: plan.namespace,
            eventId: plan.event.deliveryId,
            followUp: plan.event.kind,
          },
          start: async () => {
            const result = await followUps!.run(plan, starts.length > 0);
            if (result.outcome !== 'none') return;
            for (const job of starts) await job.start();
          },
          retryable: createRetryable,
        });
      }

      let queued = 0;
      for (const job of jobs) {
        const offered = queue.offer({
          key: job.queueKey,
          what: job.what,
          run: job.start,
          retryable: job.retryable,
        });
        if (offered) {
          seen.set(job.key, true);
          for (const carried of job.carries ?? []) seen.set(carried, true);
          queued += 1;
        }
      }
      if (jobs.length > 0 && queued === 0) {
        count(source, 'busy');
        throw new ApiError(
          'TooManyRequests',
          'too many deliveries are waiting to start sessions; deliver again shortly',
          {
            retryAfterSeconds: 5,
          },
        );
      }
      if (queued > 0) {
        count(source, 'accepted');
        logger.info(
          { source, deliveryId, sessions: sessions.map((s) => `${s.namespace}/${s.name}`), starts: queued },
          'webhook delivery accepted',
        );
        const names = sessions.map((s) => `${s.namespace}/${s.name}`).join(', ');
        const started =
          source === 'jira'
            ? `starting ${queued} Jira ticket(s)`
            : followed > 0
              ? `passing this on to the session it is for${names ? `, or starting ${names} if there is none` : ''}`
              : `starting ${names}`;
        return answer(202, { status: 'accepted', message: `Shepherd is ${started}`, sessions });
      }
      if (duplicates > 0) {
        count(source, 'duplicate');
        return answer(200, {
          status: 'duplicate',
          message: 'this delivery was received before; nothing new starts',
          sessions,
        });
      }
      count(source, 'ignored');
      logger.info({ source, deliveryId, events: parsed.events.length }, 'no trigger matched the delivery');
      const why =
        broken > 0
          ? "a trigger matched, but the session it builds breaks the AgentSession schema (the API's log names the field)"
          : matched.length > 0
            ? 'a trigger matched, but nothing could start it (the API log says why)'
            : `no ${source} trigger takes this event`;
      return answer(200, { status: 'ignored', message: why, sessions: [] });
    },
    idle: () => queue.idle(),
    stop: (graceMs) => queue.stop(graceMs),
    stats: () => queue.stats(),
  };
}
