/**
 * The trigger routes under `/api/v1/namespaces/{ns}/triggers`: the AgentTriggers of a namespace,
 * and whether each can route work (its Secrets found, its template valid), answered from the
 * in-memory catalog the webhooks route with. Triggers hold only Secret references, never values;
 * whoever may list a namespace's sessions may see the triggers that start them.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { API_VERSION, KIND } from '../../resources/constants.js';
import { TRIGGER_SOURCES, type AgentTrigger } from '../../resources/types.js';
import type { CatalogTrigger, TriggerCatalog } from '../../triggers/trigger-catalog.js';
import type { SessionVerb } from '../auth.js';
import { ApiError } from '../errors.js';
import { NamespaceParams, errorResponses } from '../schemas.js';

/** What the trigger routes need. */
export interface TriggerRoutesOptions {
  catalog: TriggerCatalog;
  /** Checks the caller may `verb` agentsessions in the request's namespace; set by the app. */
  authorize: (verb: SessionVerb) => (request: FastifyRequest) => Promise<void>;
}

const TriggerParams = Type.Object({
  ns: NamespaceParams.properties.ns,
  name: Type.String({
    pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
    maxLength: 253,
    description: "The trigger's name.",
  }),
});

export const Trigger = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(KIND.agentTrigger),
    metadata: Type.Object({
      name: Type.String(),
      namespace: Type.String(),
      creationTimestamp: Type.Optional(Type.String({ format: 'date-time' })),
    }),
    spec: Type.Object({}, { additionalProperties: true, description: 'The AgentTrigger spec.' }),
    status: Type.Object({
      ready: Type.Boolean({ description: 'Whether deliveries can be routed with it.' }),
      problem: Type.Optional(Type.String({ description: 'Why not, when it cannot.' })),
    }),
  },
  { $id: 'Trigger', description: 'An AgentTrigger, with whether Shepherd can route work with it.' },
);

const TriggerList = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal('AgentTriggerList'),
  items: Type.Array(Type.Ref('Trigger')),
});

const ITEM_HEAD = { apiVersion: API_VERSION, kind: KIND.agentTrigger } as const;
const LIST_HEAD = { apiVersion: API_VERSION, kind: 'AgentTriggerList' } as const;
const TriggerRef = Type.Unsafe<ReturnType<typeof view>>(Type.Ref('Trigger'));
const TAGS = ['triggers'];
const SECURITY = [{ bearer: [] }];
const ERRORS = [401, 429, 503];

/** A trigger as the API shows it. */
function view({ trigger, problem }: CatalogTrigger) {
  const { metadata } = trigger;
  return {
    ...ITEM_HEAD,
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace ?? 'default',
      ...(metadata.creationTimestamp ? { creationTimestamp: metadata.creationTimestamp } : {}),
    },
    spec: trigger.spec as AgentTrigger['spec'] & Record<string, unknown>,
    status: { ready: problem === undefined, ...(problem ? { problem } : {}) },
  };
}

/** The trigger routes; register under `/api/v1`. */
export const triggerRoutes: FastifyPluginAsyncTypebox<TriggerRoutesOptions> = async (app, options) => {
  const { catalog, authorize } = options;
  app.addSchema(Trigger);

  app.get(
    '/namespaces/:ns/triggers',
    {
      preHandler: authorize('list'),
      schema: {
        operationId: 'listTriggers',
        summary: 'List triggers',
        description: 'Lists the AgentTriggers of a namespace by name, with whether each can route work.',
        tags: TAGS,
        security: SECURITY,
        params: NamespaceParams,
        response: { 200: TriggerList, ...errorResponses(...ERRORS) },
      },
    },
    (request) => ({
      ...LIST_HEAD,
      items: TRIGGER_SOURCES.flatMap((source) => catalog.bySource(source))
        .filter((entry) => (entry.trigger.metadata.namespace ?? 'default') === request.params.ns)
        .sort((a, b) => a.trigger.metadata.name.localeCompare(b.trigger.metadata.name))
        .map(view),
    }),
  );

  app.get(
    '/namespaces/:ns/triggers/:name',
    {
      preHandler: authorize('get'),
      schema: {
        operationId: 'getTrigger',
        summary: 'Get a trigger',
        tags: TAGS,
        security: SECURITY,
        params: TriggerParams,
        response: { 200: TriggerRef, ...errorResponses(...ERRORS, 404) },
      },
    },
    (request) => {
      const entry = catalog.get(request.params.ns, request.params.name);
      if (!entry) {
        throw new ApiError(
          'NotFound',
          `AgentTrigger ${request.params.name} does not exist in namespace ${request.params.ns} (or Shepherd has not seen it yet)`,
        );
      }
      return view(entry);
    },
  );
};
