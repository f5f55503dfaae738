/**
 * How the CLI prints sessions: a table or a summary for people, JSON or YAML for scripts.
 */
import type { ApiTrigger } from './api-client.js';
import { stringify } from 'yaml';
import type { ApiSession } from '../api/session-backend.js';
import type { Condition, QuestionStatus, TurnStatus } from '../resources/types.js';

/** Output formats of `-o`. */
export type OutputFormat = 'human' | 'json' | 'yaml';

/** Parses `-o`; throws on anything else. */
export function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === 'human' || value === 'wide') return 'human';
  if (value === 'json' || value === 'yaml') return value;
  throw new Error(`-o takes json or yaml, not "${value}"`);
}

/** `kubectl`-style age: 45s, 12m, 3h, 2d. */
export function age(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '-';
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

function table(rows: string[][]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

/** Machine output, or undefined for human output. */
export function machine(value: unknown, format: OutputFormat): string | undefined {
  if (format === 'json') return JSON.stringify(value, null, 2);
  if (format === 'yaml') return stringify(value).trimEnd();
  return undefined;
}

/** The list table: NAME PHASE AGENT ATTEMPT AGE. */
export function sessionTable(sessions: readonly ApiSession[]): string {
  if (sessions.length === 0) return 'No sessions found.';
  return table([
    ['NAME', 'PHASE', 'AGENT', 'ATTEMPT', 'AGE'],
    ...sessions.map((s) => [
      s.metadata.name,
      s.status.phase ?? 'Pending',
      s.spec.agent ?? '-',
      s.status.attempt === undefined ? '-' : String(s.status.attempt),
      age(s.metadata.creationTimestamp ?? s.status.startTime),
    ]),
  ]);
}

/** One condition as a line: `Failed=True RunnerExit: the runner exited 1`. */
export function conditionLine(condition: Condition): string {
  return `${condition.type}=${condition.status} ${condition.reason}${condition.message ? `: ${condition.message}` : ''}`;
}

/** A session's summary for `get`. */
export function sessionSummary(session: ApiSession): string {
  const { metadata, spec, status } = session;
  const lines = [
    `Name:       ${metadata.name}`,
    `Namespace:  ${metadata.namespace}`,
    `Phase:      ${status.phase ?? 'Pending'}`,
    `Agent:      ${spec.agent ?? '(default)'}`,
    `Attempt:    ${status.attempt ?? '-'}`,
    ...(status.exitCode === undefined ? [] : [`Exit code:  ${status.exitCode}`]),
    ...(spec.repos?.length
      ? [`Repos:      ${spec.repos.map((r) => `${r.url}${r.branch ? `@${r.branch}` : ''}`).join(', ')}`]
      : []),
    ...(spec.trigger?.source
      ? [
          `Trigger:    ${spec.trigger.source}${spec.trigger.name ? ` (AgentTrigger ${spec.trigger.name})` : ''}${spec.trigger.url ? ` ${spec.trigger.url}` : ''}`,
        ]
      : []),
    ...(status.result ? [`Result:     ${status.result}`] : []),
    ...(status.reconciledRepos ?? [])
      .filter((r) => r.pullRequestUrl)
      .map((r) => `Pull req.:  ${r.pullRequestUrl ?? ''}`),
    `Age:        ${age(metadata.creationTimestamp ?? status.startTime)}`,
  ];
  if (status.question && status.phase === 'WaitingForInput') {
    lines.push(...questionLines(status.question));
  }
  if (status.turns?.length) {
    lines.push(
      'Turns:',
      ...turnTable(status.turns)
        .split('\n')
        .map((line) => `  ${line}`),
    );
  }
  if (status.conditions?.length) {
    lines.push('Conditions:');
    for (const condition of status.conditions) lines.push(`  ${conditionLine(condition)}`);
  }
  return lines.join('\n');
}

/** The agent's question, for `get` and the interactive loop: the text indented under a heading. */
export function questionLines(question: QuestionStatus): string[] {
  return [
    `Question:   (turn ${question.turn}, asked ${age(question.askedTime)} ago; answer with shepherd answer)`,
    ...question.text.split('\n').map((line) => `  ${line}`),
  ];
}

/** The turns table: TURN SOURCE AUTHOR RESULT COMMIT SUMMARY (a running turn has no result yet). */
export function turnTable(turns: readonly TurnStatus[]): string {
  return table([
    ['TURN', 'SOURCE', 'AUTHOR', 'RESULT', 'COMMIT', 'SUMMARY'],
    ...turns.map((turn) => [
      String(turn.number),
      turn.source,
      turn.author ?? '-',
      turn.result ?? 'Running',
      turn.commit ? turn.commit.slice(0, 12) : '-',
      oneLine(turn.summary),
    ]),
  ]);
}

/** The first line of `text`, shortened to fit a table row. */
function oneLine(text: string | undefined, max = 60): string {
  const first = (text ?? '').split('\n')[0]?.trim() ?? '';
  if (!first) return '-';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

/** The triggers table: NAME SOURCE READY MATCH AGE. */
export function triggerTable(triggers: readonly ApiTrigger[]): string {
  if (triggers.length === 0) return 'No triggers found.';
  return table([
    ['NAME', 'SOURCE', 'READY', 'MATCH', 'AGE'],
    ...triggers.map((t) => [
      t.metadata.name,
      t.spec.source,
      t.status.ready ? 'True' : 'False',
      matchSummary(t.spec.match) || '-',
      age(t.metadata.creationTimestamp),
    ]),
  ]);
}

/** The match rules in one short line: `label=shepherd command=/shepherd`. */
function matchSummary(match: ApiTrigger['spec']['match']): string {
  if (!match) return '';
  const parts: string[] = [];
  if (match.repositories?.length) parts.push(`repos=${match.repositories.join(',')}`);
  if (match.label) parts.push(`label=${match.label}`);
  if (match.assignee) parts.push(`assignee=${match.assignee}`);
  if (match.command) parts.push(`command=${match.command}`);
  if (match.status) parts.push(`status=${match.status}`);
  if (match.jql) parts.push(`jql="${match.jql.length > 40 ? `${match.jql.slice(0, 39)}…` : match.jql}"`);
  if (match.channels?.length) parts.push(`channels=${match.channels.join(',')}`);
  return parts.join(' ');
}

/** A trigger's summary for `triggers describe`. */
export function triggerSummary(trigger: ApiTrigger): string {
  const { metadata, spec, status } = trigger;
  const template = spec.sessionTemplate;
  const feedback = spec.feedback;
  return [
    `Name:       ${metadata.name}`,
    `Namespace:  ${metadata.namespace}`,
    `Source:     ${spec.source}${spec.forge?.url ? ` (${spec.forge.url})` : spec.jira?.url ? ` (${spec.jira.url})` : ''}`,
    `Ready:      ${status.ready ? 'True' : `False: ${status.problem ?? 'unknown'}`}`,
    `Match:      ${matchSummary(spec.match) || '(every event of the source)'}`,
    `Session:    agent ${template.agent ?? '(default)'}${template.repos?.length ? `, ${template.repos.map((r) => r.url).join(', ')}` : ", the issue's repository"}`,
    `Feedback:   ${feedback?.onStart === false ? 'no start comment' : 'start'}, ${feedback?.onEnd === false ? 'no end comment' : 'end'}`,
    `Age:        ${age(metadata.creationTimestamp)}`,
  ].join('\n');
}
