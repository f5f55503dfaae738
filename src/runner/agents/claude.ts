/**
 * Claude Code, headless: `claude -p <prompt> --output-format stream-json --verbose`, so the
 * runner can follow its progress and read usage and cost from the final event.
 *
 * It runs with `--dangerously-skip-permissions`: nobody is there to approve a tool call, and the
 * pod (non-root, restricted, its own workspace) is the sandbox. The policy's tool lists narrow that
 * (see {@link claudePolicyArgs}), and its budget becomes `--max-budget-usd`. Repositories beyond the first are
 * made available with `--add-dir`. As root in a container it is told it is in a sandbox, which
 * it needs to accept that flag (see `claude-env.ts`). It prints its `init` event as soon as its
 * session begins; exiting with an error before that is a refusal to start.
 *
 * From turn 2 on it resumes its conversation with `--resume <id>` (the id its `init` event gave
 * on the turn before; `--resume` keeps the id, unless `--fork-session`), or `--continue` (its most
 * recent conversation in the directory) when none was saved. A `--resume` of a conversation it has
 * no transcript of, or one it cannot read, exits 1 before `init` ("No conversation found with
 * session ID"), which the runner answers by starting a new one (see `runner.ts`). The runner's
 * instructions go in with `--append-system-prompt`.
 */
import { existsSync } from 'node:fs';
import { RUNNER_ENV } from '../../runner-contract/variables.js';
import type { RunnerConfig } from '../config.js';
import type { AgentDefinition } from './agent.js';
import { agentEnvironment } from './agent-env.js';
import { claudeExtraEnv, claudeRefusalHint, inContainer } from './claude-env.js';
import { ClaudeStream } from './claude-stream.js';

// Ways Claude Code itself can authenticate, so a provider's environment may configure a gateway,
// Bedrock or Vertex instead of handing the runner a token.
const OWN_CREDENTIALS = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'CLAUDE_CODE_USE_BEDROCK',
  'CLAUDE_CODE_USE_VERTEX',
];

/**
 * The flags that apply the policy's tools and budget. Claude Code keeps deny rules even with
 * `--dangerously-skip-permissions`, but that mode allows every other tool, so an allow list
 * replaces it with `--permission-mode dontAsk`: tools the list allows run, tools that only read or
 * search need no approval anyway, and every other call is refused as if nobody approved it. The
 * lists are variadic options, so each entry is an argument of its own (a pattern such as
 * `Bash(git diff:*)` holds a space) and an option always follows them: the caller puts them
 * before `--append-system-prompt`.
 */
export function claudePolicyArgs(
  config: Pick<RunnerConfig, 'allowedTools' | 'deniedTools' | 'maxBudgetUsd'>,
): string[] {
  const { allowedTools: allowed, deniedTools: denied, maxBudgetUsd: budget } = config;
  return [
    ...(allowed === undefined
      ? ['--dangerously-skip-permissions']
      : ['--permission-mode', 'dontAsk', ...(allowed.length > 0 ? ['--allowedTools', ...allowed] : [])]),
    ...(denied !== undefined && denied.length > 0 ? ['--disallowedTools', ...denied] : []),
    ...(budget === undefined ? [] : ['--max-budget-usd', String(budget)]),
  ];
}

export const claudeAgent: AgentDefinition = {
  program: () => 'claude',
  needsPrompt: true,
  resumes: true,
  installHint: 'use a runner image with Claude Code installed (npm i -g @anthropic-ai/claude-code)',
  refusalHint: claudeRefusalHint,
  missingCredentials(env) {
    if ([RUNNER_ENV.providerToken, ...OWN_CREDENTIALS].some((name) => env[name])) return undefined;
    return `no credentials for claude: give the session a provider with an API token (spec.providerRef or spec.provider with authTokenSecretRef), or set ANTHROPIC_API_KEY`;
  },
  launch(config, env, { cwd, resume, instructions }) {
    const stream = new ClaudeStream();
    const extraDirs = config.repos.slice(1).flatMap((repo) => ['--add-dir', repo.dir]);
    const resumeArgs =
      resume.kind === 'id' ? ['--resume', resume.id] : resume.kind === 'latest' ? ['--continue'] : [];
    return {
      argv: [
        'claude',
        '-p',
        config.prompt,
        '--output-format',
        'stream-json',
        '--verbose',
        ...(config.model === undefined ? [] : ['--model', config.model]),
        ...resumeArgs,
        ...claudePolicyArgs(config),
        '--append-system-prompt',
        instructions,
        ...extraDirs,
      ],
      cwd,
      env: {
        ...agentEnvironment(env, config, 'ANTHROPIC_API_KEY'),
        ...claudeExtraEnv(env, { uid: process.getuid?.(), inContainer: inContainer(env, existsSync) }),
      },
      stdoutLine: (line) => stream.line(line),
      report: () => ({
        ...(stream.summary === undefined ? {} : { summary: stream.summary }),
        ...(stream.usage === undefined ? {} : { usage: stream.usage }),
        ...(stream.question === undefined ? {} : { question: stream.question }),
        ...(stream.conversationId === undefined ? {} : { conversationId: stream.conversationId }),
        startedSession: stream.started,
      }),
    };
  },
};
