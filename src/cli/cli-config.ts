/**
 * Where the CLI finds the API and its token: flags first, then the environment
 * (`SHEPHERD_API_URL`, `SHEPHERD_TOKEN`, `SHEPHERD_NAMESPACE`), then the config file
 * (`$XDG_CONFIG_HOME/shepherd/config.json`, default `~/.config/shepherd/config.json`), then the
 * local defaults (`http://127.0.0.1:8080`, namespace `default`).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The CLI's connection settings. */
export interface CliConfig {
  apiUrl: string;
  token?: string;
  namespace: string;
}

/** The config file's shape: every field optional. */
interface ConfigFile {
  apiUrl?: string;
  token?: string;
  namespace?: string;
}

/** The config file path for `env`. */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'shepherd', 'config.json');
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    return JSON.parse(text) as ConfigFile;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Resolves the settings from flags, environment and config file. */
export function resolveCliConfig(
  flags: { apiUrl?: string; token?: string; namespace?: string },
  env: NodeJS.ProcessEnv = process.env,
): CliConfig {
  const file = readConfigFile(configFilePath(env));
  const token = flags.token ?? env.SHEPHERD_TOKEN ?? file.token;
  return {
    apiUrl: flags.apiUrl ?? env.SHEPHERD_API_URL ?? file.apiUrl ?? 'http://127.0.0.1:8080',
    ...(token ? { token } : {}),
    namespace: flags.namespace ?? env.SHEPHERD_NAMESPACE ?? file.namespace ?? 'default',
  };
}
