/**
 * The git credential helper, written once for both places that hand git a token: the runner's git
 * (through GIT_CONFIG_* variables) and the clone step (through `git -c`). The helper reads the
 * token from an environment variable when git asks, so the token is never in argv, in a script or
 * in .git/config, and it answers only `get`, so git never asks it to store or erase anything.
 */
import { ENV_NAME_PATTERN } from './variables.js';

const ENV_NAME = new RegExp(ENV_NAME_PATTERN);

/**
 * The git configuration, as ordered key/value pairs, that answers credential requests with the
 * token in the environment variable `variable`. An empty helper first resets the helpers of the
 * user's own configuration, which git would otherwise ask first.
 *
 * @throws Error when `variable` is not an environment variable name, since it is spliced into the
 *   helper's shell code.
 */
export function gitCredentialConfig(variable: string): ReadonlyArray<readonly [key: string, value: string]> {
  if (!ENV_NAME.test(variable)) throw new Error(`not an environment variable name: ${variable}`);
  const helper = `!f() { test "$1" = get || exit 0; echo username=x-access-token; printf 'password=%s\\n' "$${variable}"; }; f`;
  return [
    ['credential.helper', ''],
    ['credential.helper', helper],
  ];
}
