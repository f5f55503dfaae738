/**
 * Copies the AgentSession spec schema into the AgentTrigger CRD as `spec.sessionTemplate`, so the
 * API server checks a trigger's template exactly as it checks a session at `kubectl apply`. The
 * copy is text, between the marker comments in agenttriggers.yaml, re-indented; the CRD unit test
 * fails when the two differ, and this script (`npm run crds:sync`) brings them together again.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('../charts/shepherd/files/crds/', import.meta.url);
const BEGIN =
  '# BEGIN sessionTemplate: generated from agentsessions.yaml spec by scripts/sync-trigger-template.ts';
const END = '# END sessionTemplate';

const session = readFileSync(new URL('agentsessions.yaml', dir), 'utf8').split('\n');
const start = session.indexOf('            spec:');
const end = session.indexOf('            status:');
if (start < 0 || end < start)
  throw new Error('agentsessions.yaml: no spec block at the expected indentation');
const body = session.slice(start + 1, end).map((line) => (line ? `    ${line}` : line));
// The session spec's own description is replaced by one that says what the template is.
const descriptionEnd = body.findIndex((line, i) => i > 1 && !line.startsWith('                    '));
const template = [
  '                sessionTemplate:',
  '                  type: object',
  '                  description: >-',
  '                    The spec of every AgentSession this trigger starts, checked like an AgentSession',
  '                    spec. Shepherd fills in trigger, the repository of the issue when repos is empty',
  '                    (forge sources), and initialPrompt from the issue, comment or message.',
  ...body.slice(descriptionEnd),
];

const triggerFile = new URL('agenttriggers.yaml', dir);
const trigger = readFileSync(triggerFile, 'utf8').split('\n');
const from = trigger.findIndex((line) => line.trim() === BEGIN);
const to = trigger.findIndex((line) => line.trim() === END);
if (from < 0 || to < from) throw new Error(`agenttriggers.yaml: no "${BEGIN}" … "${END}" markers`);
const next = [...trigger.slice(0, from + 1), ...template, ...trigger.slice(to)].join('\n');
if (process.argv.includes('--check')) {
  if (next !== trigger.join('\n')) {
    console.error(
      'agenttriggers.yaml sessionTemplate differs from the AgentSession spec: run npm run crds:sync',
    );
    process.exit(1);
  }
} else {
  writeFileSync(triggerFile, next);
}
