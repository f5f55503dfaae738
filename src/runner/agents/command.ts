/**
 * Any command as the agent: the argv from SHEPHERD_COMMAND, run in the first repository's clone
 * (or the workspace), with the prompt in INITIAL_PROMPT (from turn 2 on, that turn's prompt), the
 * turn in SHEPHERD_TURN, the question file in SHEPHERD_QUESTION_FILE and the provider token, if
 * any, in SHEPHERD_PROVIDER_TOKEN. Its output is streamed as is; the last lines become the
 * summary. What it keeps between turns is its own matter (the workspace and HOME outlive them).
 */
import type { AgentDefinition } from './agent.js';
import { agentEnvironment } from './agent-env.js';
import { OutputTail } from './output-tail.js';

export const commandAgent: AgentDefinition = {
  program: (config) => config.command?.[0] ?? '',
  // A command may be the whole task by itself.
  needsPrompt: false,
  resumes: false,
  installHint: 'use a runner image (spec.image) that contains it, or fix spec.command',
  missingCredentials: () => undefined,
  launch(config, env, { cwd }) {
    if (!config.command) throw new Error('agent command launched without SHEPHERD_COMMAND');
    const tail = new OutputTail();
    return {
      argv: config.command,
      cwd,
      env: agentEnvironment(env, config, undefined),
      stdoutLine: (line) => {
        tail.push(line);
        return [line];
      },
      report: () => {
        const summary = tail.text();
        return summary === undefined ? {} : { summary };
      },
    };
  },
};
