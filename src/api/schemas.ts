/**
 * The API's schemas (TypeBox), from which both request validation and the OpenAPI document come.
 * The session spec is not restated here: it is the CRD's own schema (see session-validation.ts),
 * so the API documents and enforces exactly what the API server would.
 */
import { type Static, Type } from 'typebox';
import { API_VERSION, KIND } from '../resources/constants.js';
import { PHASES } from '../resources/phases.js';
import type { AgentSessionSpec, AgentSessionStatus, Phase } from '../resources/types.js';
import { MAX_PROMPT_CHARS } from '../workflows/session-contract.js';
import type { CrdSchema } from './session-validation.js';

/** A DNS-1123 subdomain: what Kubernetes allows as an object name. */
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** A DNS-1123 label: what Kubernetes allows as a namespace name. */
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** A label key: optional DNS-subdomain prefix and `/`, then a name of up to 63 characters. */
const LABEL_KEY =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
/** A label value: empty, or up to 63 characters starting and ending alphanumeric. */
const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';

export const PhaseSchema = Type.Unsafe<Phase>({
  type: 'string',
  enum: [...PHASES],
  description: 'Where a session is in its lifecycle.',
});

export const NamespaceParams = Type.Object({
  ns: Type.String({ pattern: DNS_LABEL, maxLength: 63, description: 'The namespace (tenant).' }),
});
export type NamespaceParams = Static<typeof NamespaceParams>;

export const SessionParams = Type.Object({
  ns: Type.String({ pattern: DNS_LABEL, maxLength: 63, description: 'The namespace (tenant).' }),
  name: Type.String({ pattern: DNS_SUBDOMAIN, maxLength: 253, description: "The session's name." }),
});
export type SessionParams = Static<typeof SessionParams>;

export const ListQuery = Type.Object({
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Most sessions per page.' }),
  ),
  continue: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 4096,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'The `continue` value of the previous page, as it was given (an opaque base64url token).',
    }),
  ),
  phase: Type.Optional(PhaseSchema),
});
export type ListQuery = Static<typeof ListQuery>;

export const LogsQuery = Type.Object({
  follow: Type.Optional(
    Type.Boolean({ default: false, description: 'Keep streaming until the runner ends.' }),
  ),
});
export type LogsQuery = Static<typeof LogsQuery>;

const Labels = Type.Record(
  Type.String({ pattern: LABEL_KEY }),
  Type.String({ pattern: LABEL_VALUE, maxLength: 63 }),
  {
    additionalProperties: false,
    maxProperties: 64,
    description: 'Labels of the session. Keys under shepherd.dev/ are reserved.',
  },
);

const SpecAny = Type.Unsafe<AgentSessionSpec>({
  type: 'object',
  additionalProperties: true,
  description: 'The AgentSession spec (see the create request body for every field).',
});
const StatusAny = Type.Unsafe<AgentSessionStatus>({
  type: 'object',
  additionalProperties: true,
  description: 'The AgentSession status, as the session workflow maintains it: phase, conditions, attempt, …',
});

export const Session = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(KIND.agentSession),
    metadata: Type.Object({
      name: Type.String(),
      namespace: Type.String(),
      uid: Type.Optional(Type.String()),
      creationTimestamp: Type.Optional(Type.String({ format: 'date-time' })),
      labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    }),
    spec: SpecAny,
    status: StatusAny,
  },
  { $id: 'Session', description: 'An agent session, in the shape of an AgentSession.' },
);

export const SessionList = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal('AgentSessionList'),
  metadata: Type.Object({
    continue: Type.Optional(Type.String({ description: 'Pass as `continue` for the next page.' })),
  }),
  items: Type.Array(Type.Ref('Session')),
});

export const ApiErrorBody = Type.Object(
  {
    code: Type.String({ description: 'A stable error code, e.g. InvalidSession, NotFound, Forbidden.' }),
    message: Type.String({ description: 'What went wrong and what to do about it.' }),
    details: Type.Record(Type.String(), Type.Unknown(), {
      description: 'Machine-readable details, e.g. `field` for InvalidSession.',
    }),
  },
  { $id: 'Error' },
);

/** Where a prompt sent through the API says it came from: the CLI says so, anyone else is `api`. */
export const API_PROMPT_SOURCES = ['api', 'cli'] as const;

export const PromptBody = Type.Object(
  {
    prompt: Type.String({
      minLength: 1,
      maxLength: MAX_PROMPT_CHARS,
      // Not only white space: an empty turn is no turn.
      pattern: '\\S',
      description: `The text for the agent: the next turn's prompt, or the answer to its question (at most ${MAX_PROMPT_CHARS} characters).`,
    }),
    source: Type.Optional(
      Type.Unsafe<(typeof API_PROMPT_SOURCES)[number]>({
        type: 'string',
        enum: [...API_PROMPT_SOURCES],
        default: 'api',
        description: 'Where the prompt comes from, as status.turns records it.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "A prompt or an answer. Its author is the caller's identity (on Kubernetes, the user the token belongs to), never a field of the body.",
  },
);
export type PromptBody = Static<typeof PromptBody>;

export const PromptAcceptedBody = Type.Object(
  {
    turn: Type.Integer({ minimum: 1, description: 'The number of the turn the prompt starts.' }),
    session: Type.Ref('Session'),
  },
  {
    $id: 'PromptAccepted',
    description:
      'A prompt the session took: its turn, and the session right after (on Kubernetes its status may show the turn only a moment later).',
  },
);

export const ApproveBody = Type.Object(
  {
    capUsd: Type.Number({
      exclusiveMinimum: 0,
      description:
        "The new cap in US dollars, above what was spent: the session's own spending when its budget.perSessionUsd was reached, the namespace's this month when budget.monthlyUsd was.",
    }),
  },
  {
    additionalProperties: false,
    description:
      "An approval of a session waiting at a budget cap. Its author is the caller's identity (on Kubernetes, the user the token belongs to), never a field of the body.",
  },
);
export type ApproveBody = Static<typeof ApproveBody>;

export const ApprovalAcceptedBody = Type.Object(
  {
    cap: Type.Union([Type.Literal('session'), Type.Literal('monthly')], {
      description:
        "Which cap the approval raised: the session's own (budget.perSessionUsd), or the namespace's monthly one (budget.monthlyUsd), for this session.",
    }),
    capUsd: Type.Number({ description: 'The new cap in US dollars.' }),
    session: Type.Ref('Session'),
  },
  {
    $id: 'ApprovalAccepted',
    description:
      'An approval the session took: the cap it raised, and the session right after (on Kubernetes its status may leave WaitingForApproval only a moment later).',
  },
);

export const NamespaceList = Type.Object({
  namespaces: Type.Array(Type.String(), {
    description: 'Namespaces in which the caller may list sessions.',
  }),
});

/** The create request body, with the CRD's spec schema in place of `spec`. */
export function createSessionBody(specSchema: CrdSchema) {
  return Type.Object(
    {
      apiVersion: Type.Optional(Type.Literal(API_VERSION)),
      kind: Type.Optional(Type.Literal(KIND.agentSession)),
      metadata: Type.Object(
        {
          name: Type.String({
            pattern: DNS_SUBDOMAIN,
            minLength: 1,
            maxLength: 253,
            description: "The session's name: lower-case letters, digits, '-' and '.'.",
          }),
          namespace: Type.Optional(
            Type.String({ description: 'If given, it must be the namespace in the path.' }),
          ),
          labels: Type.Optional(Labels),
        },
        { additionalProperties: false },
      ),
      spec: Type.Unsafe<AgentSessionSpec>(specSchema),
    },
    { additionalProperties: false, description: 'An AgentSession to create, as `kubectl apply` takes it.' },
  );
}

/** The static schema of the create body, for types (the spec is typed from resources/types.ts). */
export type CreateSessionBody = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: AgentSessionSpec;
};

/**
 * The error statuses an operation documents, beside its own: every request can be malformed
 * (400), refused for its Host by a loopback-only API (403), have headers over Node's limit (431)
 * or fail inside (500). Each is the `Error` body.
 */
export const COMMON_ERROR_STATUSES = [400, 403, 431, 500] as const;

/** The `response` entries of error statuses: `COMMON_ERROR_STATUSES` and `statuses`, each an Error. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  const all = [...new Set([...COMMON_ERROR_STATUSES, ...statuses])].sort((a, b) => a - b);
  return Object.fromEntries(all.map((status) => [status, Type.Ref('Error')]));
}
