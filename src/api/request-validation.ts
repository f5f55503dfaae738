/**
 * The error a request gets when it fails its route's schema: which code, and a message naming the
 * field. A create body is a session (InvalidSession, with every violation); params and query
 * strings, and a prompt body, are the request's own fields (InvalidRequest). The app uses
 * {@link validationError} for every route; the prompt routes use {@link promptValidationError}.
 */
import type { ErrorObject } from 'ajv';
import { MAX_PROMPT_CHARS } from '../workflows/session-contract.js';
import { ApiError } from './errors.js';
import { type FieldViolation, fieldPath, schemaViolation } from './session-validation.js';

/** The error for a schema validation failure of a session body, a path parameter or a query. */
export function validationError(errors: ErrorObject[], context: string): ApiError {
  if (context === 'body') {
    const violations = errors.map((error) => schemaViolation(error));
    const first = violations[0] ?? { field: 'body', message: 'the session is invalid' };
    return new ApiError('InvalidSession', first.message, { field: first.field, violations });
  }
  const first = errors[0];
  const name = first
    ? fieldPath(first.instancePath) ||
      String((first.params as { missingProperty?: string }).missingProperty ?? '')
    : '';
  const where = context === 'querystring' ? 'query parameter' : 'path parameter';
  return new ApiError('InvalidRequest', `${where} ${name || context} ${first?.message ?? 'is invalid'}`, {
    field: name || context,
    in: context,
  });
}

/** A prompt body's violation, in the words a person sending a prompt needs. */
function promptViolation(error: ErrorObject): FieldViolation {
  const violation = schemaViolation(error);
  if (violation.field === 'prompt') {
    if (error.keyword === 'required') {
      return { field: 'prompt', message: "prompt is required: the text for the agent's next turn" };
    }
    if (error.keyword === 'minLength' || error.keyword === 'pattern') {
      return { field: 'prompt', message: 'prompt is empty: give the agent something to do' };
    }
    if (error.keyword === 'maxLength') {
      return {
        field: 'prompt',
        message: `prompt is longer than ${MAX_PROMPT_CHARS} characters; shorten it, or put the details in a file in the repository`,
      };
    }
  }
  if (error.keyword === 'additionalProperties' && violation.field === 'author') {
    return {
      field: 'author',
      message: 'author is not a field of a prompt: the author is who the bearer token belongs to',
    };
  }
  return violation;
}

/** The error for a schema validation failure of a prompt request: InvalidRequest naming the field. */
export function promptValidationError(errors: ErrorObject[], context: string): ApiError {
  if (context !== 'body') return validationError(errors, context);
  const violations = errors.map(promptViolation);
  const first = violations[0] ?? { field: 'body', message: 'the prompt is invalid' };
  return new ApiError('InvalidRequest', first.message, { field: first.field, in: 'body', violations });
}
