/** The agents by name. */
import type { AgentKind } from '../config.js';
import type { AgentDefinition } from './agent.js';
import { claudeAgent } from './claude.js';
import { commandAgent } from './command.js';
import { opencodeAgent } from './opencode.js';

export const AGENTS: Record<AgentKind, AgentDefinition> = {
  claude: claudeAgent,
  opencode: opencodeAgent,
  command: commandAgent,
};
