/**
 * GitHub's own webhook payloads for the tests: the community examples of @octokit/webhooks-examples,
 * each validated against GitHub's schemas in @octokit/webhooks-schemas before a test may use it,
 * so a parser is only ever tested on shapes GitHub documents. Examples that an older schema
 * revision no longer accepts are set aside and counted, never used.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import { addFormats } from '../../../src/api/session-validation.js';

const require = createRequire(import.meta.url);

interface ExampleGroup {
  name: string;
  examples: Array<Record<string, unknown>>;
}

const examples = JSON.parse(
  readFileSync(require.resolve('@octokit/webhooks-examples/api.github.com/index.json'), 'utf8'),
) as ExampleGroup[];
const schema = JSON.parse(
  readFileSync(require.resolve('@octokit/webhooks-schemas/schema.json'), 'utf8'),
) as object;

// Not inlining references nor optimizing keeps compiling GitHub's large schema to seconds, not tens.
const ajv = new Ajv({ strict: false, allErrors: true, inlineRefs: false, code: { optimize: false } });
addFormats(ajv);
// RFC 6570 templates (`…{/name}`) appear in GitHub's URLs; the schemas name the format, ajv lacks it.
ajv.addFormat('uri-template', true);
ajv.addSchema(schema, 'webhooks');

/** The schema of one event and action, e.g. `issues$labeled`, `ping$event`. */
export function webhookSchema(event: string, action?: string): ValidateFunction {
  const key = action ? `${event}$${action}` : `${event}$event`;
  const validate = ajv.getSchema(`webhooks#/definitions/${key}`);
  if (!validate) throw new Error(`@octokit/webhooks-schemas has no definition ${key}`);
  return validate;
}

/** Validates a payload against GitHub's schema of its event and action; throws naming the error. */
export function assertGitHubShape(event: string, payload: Record<string, unknown>): void {
  const action = typeof payload.action === 'string' ? payload.action : undefined;
  const validate = webhookSchema(event, action);
  if (!validate(payload)) {
    throw new Error(`not a ${event}.${action ?? 'event'} payload: ${ajv.errorsText(validate.errors)}`);
  }
}

/** One example payload, valid against its schema. */
export interface GitHubExample {
  event: string;
  action?: string;
  payload: Record<string, unknown>;
}

/** The valid examples of `event`, and how many were set aside as invalid. */
export function gitHubExamples(event: string): { valid: GitHubExample[]; setAside: number } {
  const group = examples.find((g) => g.name === event);
  if (!group) throw new Error(`@octokit/webhooks-examples has no ${event} examples`);
  const valid: GitHubExample[] = [];
  let setAside = 0;
  for (const payload of group.examples) {
    const action = typeof payload.action === 'string' ? payload.action : undefined;
    if (webhookSchema(event, action)(payload)) valid.push({ event, ...(action ? { action } : {}), payload });
    else setAside += 1;
  }
  return { valid, setAside };
}
