/**
 * The error a request gets when it fails its route's schema: which code, and a message naming the
 * field. A create body is a session (InvalidSession, with every violation); params and query
 * strings, and a prompt or approval body, are the request's own fields (InvalidRequest). The app
 * uses {@link validationError} for every route; the prompt routes use {@link promptValidationError}
 * and the approve route {@link approvalValidationError}.
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
    return authorViolation('a prompt');
  }
  return violation;
}

/** A body's `author`, which no body may set: who sent it is who the token belongs to. */
function authorViolation(of: string): FieldViolation {
  return {
    field: 'author',
    message: `author is not a field of ${of}: the author is who the bearer token belongs to`,
  };
}

/** The error for a schema validation failure of a request whose body `words` words. */
function bodyValidationError(
  errors: ErrorObject[],
  context: string,
  words: (error: ErrorObject) => FieldViolation,
  what: string,
): ApiError {
  if (context !== 'body') return validationError(errors, context);
  const violations = errors.map(words);
  const first = violations[0] ?? { field: 'body', message: `the ${what} is invalid` };
  return new ApiError('InvalidRequest', first.message, { field: first.field, in: 'body', violations });
}

/** The error for a schema validation failure of a prompt request: InvalidRequest naming the field. */
export function promptValidationError(errors: ErrorObject[], context: string): ApiError {
  return bodyValidationError(errors, context, promptViolation, 'prompt');
}

/** An approval body's violation, in the words of the session workflow's own refusal. */
function approvalViolation(error: ErrorObject): FieldViolation {
  const violation = schemaViolation(error);
  if (violation.field === 'capUsd') {
    if (error.keyword === 'required' || error.keyword === 'type') {
      return { field: 'capUsd', message: 'capUsd must be a number of US dollars, e.g. {"capUsd": 5}' };
    }
    if (error.keyword === 'exclusiveMinimum') {
      return {
        field: 'capUsd',
        message: 'capUsd must be above 0: the new cap in US dollars, above what was spent',
      };
    }
  }
  if (error.keyword === 'additionalProperties' && violation.field === 'author') {
    return authorViolation('an approval');
  }
  return violation;
}

/** The error for a schema validation failure of an approve request: InvalidRequest naming the field. */
export function approvalValidationError(errors: ErrorObject[], context: string): ApiError {
  return bodyValidationError(errors, context, approvalViolation, 'approval');
}
