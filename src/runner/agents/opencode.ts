/**
 * OpenCode, headless: `opencode run --format json --auto --title <session> [--model provider/model]
 * <prompt>`. Its JSON events give the log, the summary and the usage (`opencode-stream.ts`).
 * `--auto` approves every tool call, since nobody is there to (as `--dangerously-skip-permissions`
 * does for Claude Code); `--title` names the session, so OpenCode does not ask the model for a
 * title. An exit with an error before its first step is a refusal to start (a bad config, an
 * unknown model).
 *
 * From turn 2 on it resumes its session with `--session <id>` (the id its events gave on the turn
 * before), or `--continue` (its most recent session) when none was saved; a `--session` it does
 * not know exits 1 before its first step ("Session not found"), which the runner answers by
 * starting a new one. OpenCode's `run` takes no system prompt, so the runner's instructions follow
 * the prompt of a conversation's first message (a resumed conversation has them already).
 *
 * The policy's tool lists become OpenCode's `permission` configuration in OPENCODE_PERMISSION (see
 * `opencode-permission.ts`), replacing any the provider's environment set: `--auto` approves only
 * what is not denied. OpenCode has no spending cap, so SHEPHERD_MAX_BUDGET_USD is not passed on.
 *
 * OpenCode reads each model provider's key from that provider's usual variable, so the provider
 * token goes to the variable of the model's provider (`anthropic/...` → ANTHROPIC_API_KEY), and to
 * ANTHROPIC_API_KEY when no model is named.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RUNNER_ENV } from '../../runner-contract/variables.js';
import type { AgentDefinition } from './agent.js';
import { agentEnvironment } from './agent-env.js';
import { opencodeTools } from './opencode-permission.js';
import { OpencodeStream } from './opencode-stream.js';
import { splitQuestion } from '../question.js';

const PROVIDER_KEYS: Record<string, string> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  google: 'GOOGLE_GENERATIVE_AI_API_KEY',
  openrouter: 'OPENROUTER_API_KEY',
  groq: 'GROQ_API_KEY',
  mistral: 'MISTRAL_API_KEY',
  deepseek: 'DEEPSEEK_API_KEY',
  xai: 'XAI_API_KEY',
};

/** The variable OpenCode reads the key of `model`'s provider from. */
export function opencodeKeyVariable(model: string | undefined): string {
  const provider = model?.includes('/') ? (model.split('/')[0] ?? '') : 'anthropic';
  return PROVIDER_KEYS[provider] ?? `${provider.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_API_KEY`;
}

export const opencodeAgent: AgentDefinition = {
  program: () => 'opencode',
  needsPrompt: true,
  resumes: true,
  installHint: 'use a runner image with OpenCode installed (npm i -g opencode-ai)',
  missingCredentials(env) {
    // OpenCode may also be logged in through its auth file (`opencode auth login`, kept in HOME on
    // the workspace); any provider key or that file is taken as enough.
    const home = env.XDG_DATA_HOME ?? (env.HOME ? `${env.HOME}/.local/share` : undefined);
    if ([RUNNER_ENV.providerToken, ...Object.values(PROVIDER_KEYS)].some((name) => env[name]))
      return undefined;
    if (home !== undefined && existsSync(join(home, 'opencode', 'auth.json'))) return undefined;
    return `no credentials for opencode: give the session a provider with an API token (spec.providerRef or spec.provider with authTokenSecretRef), or set the model provider's key (e.g. ANTHROPIC_API_KEY) in the provider's environment`;
  },
  launch(config, env, { cwd, resume, instructions }) {
    const stream = new OpencodeStream();
    const title = config.sessionName ? `Shepherd session ${config.sessionName}` : 'Shepherd session';
    const message = resume.kind === 'id' ? config.prompt : `${config.prompt}\n\n${instructions}`;
    const tools = opencodeTools(config.allowedTools, config.deniedTools);
    return {
      argv: [
        'opencode',
        'run',
        '--format',
        'json',
        '--auto',
        '--title',
        title,
        ...(config.model === undefined ? [] : ['--model', config.model]),
        ...(resume.kind === 'id' ? ['--session', resume.id] : resume.kind === 'latest' ? ['--continue'] : []),
        // OpenCode's argument parser takes a prompt starting with a dash for an option (and waits
        // for ever when it follows `--`); a leading space keeps it a message.
        message.startsWith('-') ? ` ${message}` : message,
      ],
      cwd,
      env: {
        ...agentEnvironment(env, config, opencodeKeyVariable(config.model)),
        // A headless agent in a pod has no use for updating itself.
        ...(env.OPENCODE_DISABLE_AUTOUPDATE === undefined ? { OPENCODE_DISABLE_AUTOUPDATE: '1' } : {}),
        ...(tools.permission === undefined ? {} : { OPENCODE_PERMISSION: JSON.stringify(tools.permission) }),
      },
      notes: tools.notes,
      stdoutLine: (line) => stream.line(line),
      report: () => {
        const { summary, question } = splitQuestion(stream.summary ?? '');
        return {
          ...(summary === undefined ? {} : { summary }),
          ...(question === undefined ? {} : { question }),
          ...(stream.usage === undefined ? {} : { usage: stream.usage }),
          ...(stream.error === undefined ? {} : { error: stream.error }),
          ...(stream.conversationId === undefined ? {} : { conversationId: stream.conversationId }),
          startedSession: stream.started,
        };
      },
    };
  },
};
