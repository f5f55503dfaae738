/**
 * Checks session specs of triggers against the AgentSession CRD, as the API checks a create
 * request: the CRD's own structural schema made strict, its defaults applied, and its CEL rules
 * (session-validation.ts). Two uses: a trigger's `sessionTemplate` when the catalog reads it (a
 * bad one becomes the trigger's `problem`, so it is reported at once rather than at the first
 * delivery; in local mode no API server ever checked it), and the spec a delivery builds from it,
 * which the backend requires validated and defaulted.
 */
import type { ValidateFunction } from 'ajv';
import {
  type CrdSchema,
  celViolations,
  type FieldViolation,
  loadCrdSpecSchema,
  schemaViolation,
  sessionSpecAjv,
  strictSpecSchema,
} from '../api/session-validation.js';
import type { AgentSessionSpec } from '../resources/types.js';

/** A checked spec: a copy with the CRD's defaults applied, or what is wrong with it. */
export type SpecCheck = { ok: true; spec: AgentSessionSpec } | { ok: false; violations: FieldViolation[] };

/** Checks session specs. */
export interface SessionSpecValidator {
  /**
   * Checks `spec`; the violations' fields start with `path` (e.g. `spec.sessionTemplate`).
   * `spec` itself is not changed.
   */
  check(spec: AgentSessionSpec, path?: string): SpecCheck;
}

/** A validator for the AgentSession CRD's spec schema (by default the one in the chart). */
export function sessionSpecValidator(crdSpec: CrdSchema = loadCrdSpecSchema()): SessionSpecValidator {
  const validate: ValidateFunction = sessionSpecAjv().compile(strictSpecSchema(crdSpec) as object);
  return {
    check(spec, path = 'spec') {
      const copy = structuredClone(spec);
      if (!validate(copy)) {
        const violations = (validate.errors ?? []).map((error) => {
          const violation = schemaViolation(error, path);
          // schemaViolation names fields below the spec's root (its messages start with the
          // field): put them under `path`.
          return violation.field === path
            ? violation
            : { field: `${path}.${violation.field}`, message: `${path}.${violation.message}` };
        });
        return { ok: false, violations };
      }
      const violations = celViolations(crdSpec, copy, path);
      return violations.length > 0 ? { ok: false, violations } : { ok: true, spec: copy };
    },
  };
}

/** One line naming every violation, for a trigger's `problem` and logs. */
export function describeViolations(violations: readonly FieldViolation[]): string {
  return violations.map((v) => v.message).join('; ');
}
