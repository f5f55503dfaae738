/**
 * Validates a session spec against the same rules as the AgentSession CRD, so the API refuses a
 * bad session with the message `kubectl apply` would give instead of accepting it and failing
 * later (and, in local mode, where no API server ever sees the object, at all):
 *
 * - the structural schema comes from the CRD file itself (charts/shepherd/files/crds), so the two
 *   can never drift; unknown fields are refused, as `kubectl apply`'s strict field validation does;
 * - the CEL rules (`x-kubernetes-validations`) are re-expressed in TypeScript below, keyed by the
 *   rule's exact text, and loading fails if the CRD has a rule with no counterpart here — adding a
 *   rule to the CRD without teaching the API is caught by the first test that builds the app;
 * - list-map uniqueness (`x-kubernetes-list-type: map`), which the API server enforces too.
 *
 * The messages are the CRD's own, so both paths read the same.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { quantityGreaterThan } from '../resources/quantity.js';

/** A JSON schema node as the CRD writes it (OpenAPI v3 subset plus Kubernetes extensions). */
export interface CrdSchema {
  type?: string;
  description?: string;
  properties?: Record<string, CrdSchema>;
  additionalProperties?: CrdSchema | boolean;
  items?: CrdSchema;
  required?: string[];
  anyOf?: CrdSchema[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string; fieldPath?: string; reason?: string }>;
  [keyword: string]: unknown;
}

/** One broken rule: the field a user would look for and what to do about it. */
export interface FieldViolation {
  /** e.g. `spec.repos[0].outputBranch`. */
  field: string;
  message: string;
}

const CRD_FILE = new URL('../../charts/shepherd/files/crds/agentsessions.yaml', import.meta.url);

/**
 * The CRD file's text, when a bundle carries it: src/image/build-dist.ts defines this constant,
 * because dist/ has no charts directory beside it. Undeclared when running from the sources,
 * which read the file.
 */
declare const SHEPHERD_BUNDLED_AGENTSESSION_CRD: string | undefined;
const bundledCrd =
  typeof SHEPHERD_BUNDLED_AGENTSESSION_CRD === 'string' ? SHEPHERD_BUNDLED_AGENTSESSION_CRD : undefined;

type Json = Record<string, unknown>;
const has = (self: unknown, key: string): boolean =>
  typeof self === 'object' && self !== null && (self as Json)[key] !== undefined;
const field = (self: unknown, key: string): unknown => (self as Json)[key];
const keysOf = (self: unknown): string[] =>
  typeof self === 'object' && self !== null ? Object.keys(self) : [];

/** A Kubernetes qualified name (label, annotation and resource keys), as the CRD's CEL rules write it. */
const QUALIFIED_NAME =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
const QUALIFIED_NAME_RE = new RegExp(QUALIFIED_NAME);
/** The CEL rule on a map whose keys must be qualified names with a prefix of at most 253 characters. */
const QUALIFIED_KEYS_RULE = `self.all(k, k.matches('${QUALIFIED_NAME}') && (!k.contains('/') || k.indexOf('/') <= 253))`;
const isQualifiedName = (key: string): boolean =>
  QUALIFIED_NAME_RE.test(key) && (!key.includes('/') || key.indexOf('/') <= 253);
const text = (self: unknown, key: string): string | undefined => {
  const value = field(self, key);
  return typeof value === 'string' ? value : undefined;
};

/**
 * The CEL rules of the AgentSession CRD in TypeScript, keyed by the rule text. `has(self.x)` is
 * "the field is present", as in CEL on a structural schema.
 */
const CEL_RULES: Readonly<Record<string, (self: unknown) => boolean>> = {
  '!(has(self.providerRef) && has(self.provider))': (s) => !(has(s, 'providerRef') && has(s, 'provider')),
  "!has(self.agent) || self.agent != 'command' || has(self.command)": (s) =>
    !has(s, 'agent') || field(s, 'agent') !== 'command' || has(s, 'command'),
  "(!has(self.command) && !has(self.args)) || (has(self.agent) && self.agent == 'command')": (s) =>
    (!has(s, 'command') && !has(s, 'args')) || (has(s, 'agent') && field(s, 'agent') === 'command'),
  "!has(self.agent) || self.agent == 'command' || has(self.initialPrompt)": (s) =>
    !has(s, 'agent') || field(s, 'agent') === 'command' || has(s, 'initialPrompt'),
  '!has(self.outputBranch) || !has(self.branch) || self.outputBranch != self.branch': (s) =>
    !has(s, 'outputBranch') || !has(s, 'branch') || field(s, 'outputBranch') !== field(s, 'branch'),
  "self.all(k, k != 'INITIAL_PROMPT' && !k.startsWith('SHEPHERD_'))": (s) =>
    keysOf(s).every((k) => k !== 'INITIAL_PROMPT' && !k.startsWith('SHEPHERD_')),
  "self.name != 'INITIAL_PROMPT' && !self.name.startsWith('SHEPHERD_')": (s) => {
    const name = field(s, 'name');
    return typeof name !== 'string' || (name !== 'INITIAL_PROMPT' && !name.startsWith('SHEPHERD_'));
  },
  '!(has(self.value) && has(self.valueFrom))': (s) => !(has(s, 'value') && has(s, 'valueFrom')),
  'has(self.secretKeyRef) != has(self.configMapKeyRef)': (s) =>
    has(s, 'secretKeyRef') !== has(s, 'configMapKeyRef'),
  "self.all(k, !k.startsWith('shepherd.dev/'))": (s) =>
    keysOf(s).every((k) => !k.startsWith('shepherd.dev/')),
  [QUALIFIED_KEYS_RULE]: (s) => keysOf(s).every(isQualifiedName),
  '!has(self.limits) || !has(self.requests) || self.requests.all(k, !(k in self.limits) || !quantity(string(self.requests[k])).isGreaterThan(quantity(string(self.limits[k]))))':
    (s) => {
      const limits = field(s, 'limits') as Json | undefined;
      const requests = field(s, 'requests') as Json | undefined;
      if (!limits || !requests) return true;
      return Object.entries(requests).every(
        ([k, request]) => !(k in limits) || !quantityGreaterThan(request, limits[k]),
      );
    },
  "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')": (s) =>
    (text(s, 'key') ?? '') !== '' || text(s, 'operator') === 'Exists',
  "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''": (s) =>
    text(s, 'operator') !== 'Exists' || (text(s, 'value') ?? '') === '',
  "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')": (s) =>
    !has(s, 'tolerationSeconds') || text(s, 'effect') === 'NoExecute',
};

// ajv-formats is CommonJS with its function as the default export.
export const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * A validator for session specs as the API server checks them: no type coercion, every error
 * reported, the CRD's defaults applied, and the CRD's int32/int64 formats. The API's request
 * bodies and the sessions triggers start both go through one.
 */
export function sessionSpecAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    useDefaults: true,
    coerceTypes: false,
    strict: false,
  });
  addFormats(ajv);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  return ajv;
}

/** The CRD's `spec` schema, as written in `file` (by default the chart's CRD, or the bundled copy). */
export function loadCrdSpecSchema(file?: URL | string): CrdSchema {
  const text =
    file === undefined && bundledCrd !== undefined ? bundledCrd : readFileSync(file ?? CRD_FILE, 'utf8');
  const crd = parse(text) as {
    spec: { versions: Array<{ schema: { openAPIV3Schema: CrdSchema } }> };
  };
  const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec;
  if (!spec) throw new Error(`${String(file ?? CRD_FILE)} has no spec schema`);
  return spec;
}

/**
 * The spec schema for a JSON-schema validator: a copy in which every object that lists its
 * properties refuses others (strict field validation). The Kubernetes extension keywords stay, for
 * documentation and for `celViolations`.
 */
export function strictSpecSchema(spec: CrdSchema): CrdSchema {
  const visit = (node: CrdSchema): CrdSchema => {
    const copy: CrdSchema = { ...node };
    if (node.properties) {
      copy.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, visit(v)]));
      if (node.additionalProperties === undefined && !node['x-kubernetes-preserve-unknown-fields']) {
        copy.additionalProperties = false;
      }
    }
    if (typeof node.additionalProperties === 'object')
      copy.additionalProperties = visit(node.additionalProperties);
    if (node.items) copy.items = visit(node.items);
    return copy;
  };
  return visit(spec);
}

/** Throws when the CRD has a CEL rule that `CEL_RULES` does not implement. */
export function assertCelRulesImplemented(spec: CrdSchema): void {
  const missing: string[] = [];
  const visit = (node: CrdSchema): void => {
    for (const validation of node['x-kubernetes-validations'] ?? []) {
      if (!CEL_RULES[validation.rule]) missing.push(validation.rule);
    }
    Object.values(node.properties ?? {}).forEach(visit);
    if (typeof node.additionalProperties === 'object') visit(node.additionalProperties);
    if (node.items) visit(node.items);
  };
  visit(spec);
  if (missing.length > 0) {
    throw new Error(`the AgentSession CRD has CEL rules the API does not implement: ${missing.join('; ')}`);
  }
}

/**
 * The CEL rules and list-map keys the value breaks, walking value and schema together. Run it
 * after the structural validation passed, as the API server does.
 */
export function celViolations(spec: CrdSchema, value: unknown, path = 'spec'): FieldViolation[] {
  const out: FieldViolation[] = [];
  const visit = (node: CrdSchema, v: unknown, at: string): void => {
    if (v === undefined || v === null) return;
    for (const validation of node['x-kubernetes-validations'] ?? []) {
      const holds = CEL_RULES[validation.rule];
      if (holds && !holds(v)) {
        out.push({
          field: `${at}${validation.fieldPath ?? ''}`,
          message: (validation.message ?? `${at} fails the rule ${validation.rule}`).trim(),
        });
      }
    }
    if (Array.isArray(v) && node.items) {
      const keys = node['x-kubernetes-list-type'] === 'map' ? (node['x-kubernetes-list-map-keys'] ?? []) : [];
      const seen = new Set<string>();
      v.forEach((item, index) => {
        if (keys.length > 0) {
          const key = JSON.stringify(keys.map((k) => field(item, k)));
          if (seen.has(key)) {
            out.push({
              field: `${at}[${index}]`,
              message: `${at}[${index}] repeats ${keys.map((k) => `${k} ${JSON.stringify(field(item, k))}`).join(', ')}; each entry of ${at} needs a distinct ${keys.join(', ')}`,
            });
          }
          seen.add(key);
        }
        visit(node.items as CrdSchema, item, `${at}[${index}]`);
      });
      return;
    }
    if (typeof v !== 'object') return;
    for (const [key, child] of Object.entries(node.properties ?? {}))
      visit(child, (v as Json)[key], `${at}.${key}`);
    if (typeof node.additionalProperties === 'object') {
      const valueSchema = node.additionalProperties;
      for (const [key, child] of Object.entries(v as Json)) {
        if (!node.properties?.[key]) visit(valueSchema, child, `${at}[${JSON.stringify(key)}]`);
      }
    }
  };
  visit(spec, value, path);
  return out;
}

/** `/spec/repos/0/url` → `spec.repos[0].url`. */
export function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => {
      if (/^\d+$/.test(part)) return `${path}[${part}]`;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) return `${path}[${JSON.stringify(part)}]`;
      return path ? `${path}.${part}` : part;
    }, '');
}

const MAX_HINT = 240;

/** A JSON-schema validator's error as a violation with a message saying what to do. */
export function schemaViolation(error: ErrorObject, root = 'body'): FieldViolation {
  const at = fieldPath(error.instancePath) || root;
  const params = error.params as Record<string, unknown>;
  const parent: unknown = error.parentSchema;
  const description = (parent as CrdSchema | undefined)?.description;
  const hint = description
    ? ` (${description.length > MAX_HINT ? `${description.slice(0, MAX_HINT)}…` : description})`
    : '';
  switch (error.keyword) {
    case 'required': {
      const missing = `${at === root ? '' : `${at}.`}${String(params.missingProperty)}`;
      return { field: missing, message: `${missing} is required` };
    }
    case 'additionalProperties': {
      const extra = `${at === root ? '' : `${at}.`}${String(params.additionalProperty)}`;
      return {
        field: extra,
        message: `${extra} is not a field of ${at}; remove it or check its spelling (see /openapi.json)`,
      };
    }
    case 'enum':
      return {
        field: at,
        message: `${at} must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}${hint}`,
      };
    case 'pattern':
      return { field: at, message: `${at} must match ${String(params.pattern)}${hint}` };
    default:
      return { field: at, message: `${at} ${error.message ?? 'is invalid'}${hint}` };
  }
}
