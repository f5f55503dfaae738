/**
 * How the runner tests reach the real agent CLIs: the pinned installs' directories for PATH, the
 * opencode config naming a scripted OpenAI-compatible API as a custom provider, and the
 * variables that keep each CLI from reaching anything but the scripted API.
 */
import { dirname } from 'node:path';
import { agentToolPaths } from '../../../src/processes/tools.js';

/**
 * How long a runner driving a real agent CLI may take before the test kills it: OpenCode alone
 * takes a minute to boot on a loaded 2-core machine.
 */
export const AGENT_RUN_TIMEOUT_MS = 300_000;

/** The directory holding the pinned `claude`, for PATH. */
export const claudeBin = dirname(agentToolPaths().claude);
/** The directory holding the pinned `opencode`, for PATH. */
export const opencodeBin = dirname(agentToolPaths().opencode);

/** The provider (and model) of the opencode config below; the session's model is `scripted/coder-1`. */
export const OPENCODE_MODEL = 'scripted/coder-1';

/**
 * The environment that points OpenCode at a scripted API: a custom provider (`@ai-sdk/openai-compatible`,
 * as OpenCode's config documents for OpenAI-compatible servers) with its baseURL and its key from
 * SCRIPTED_API_KEY, the variable the runner hands the provider token to for model `scripted/...`.
 */
export function opencodeEnv(baseURL: string): Record<string, string> {
  const config = {
    $schema: 'https://opencode.ai/config.json',
    provider: {
      scripted: {
        npm: '@ai-sdk/openai-compatible',
        name: 'Scripted',
        options: { baseURL, apiKey: '{env:SCRIPTED_API_KEY}' },
        models: { 'coder-1': { name: 'Coder 1' } },
      },
    },
  };
  return {
    OPENCODE_CONFIG_CONTENT: JSON.stringify(config),
    // The model catalogue comes from models.dev and plugins from npm: neither is reachable, nor needed.
    OPENCODE_DISABLE_MODELS_FETCH: '1',
    OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
    OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
  };
}
