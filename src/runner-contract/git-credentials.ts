/**
 * The git credential helper, written once for both places that hand git a token: the runner's git
 * (through GIT_CONFIG_* variables) and the clone step (through `git -c`). The helper reads the
 * token from an environment variable when git asks, so the token is never in argv, in a script or
 * in .git/config; it answers only `get`, so git never asks it to store or erase anything; and it
 * answers only for the scheme and host of the repository's own URL, so a redirect, a rewritten
 * URL or any other host git is talked into contacting gets nothing.
 */
import { shellQuote } from './shell.js';
import { ENV_NAME_PATTERN } from './variables.js';

const ENV_NAME = new RegExp(ENV_NAME_PATTERN);

// The authority of an http(s) URL as git's credential code sees it: the scheme as written, and the
// host with its port (if the URL has one), without the user part.
const HTTP_URL = /^(https?):\/\/(?:[^@/?#]*@)?([^/?#]+)/i;
const HOST = /^[A-Za-z0-9._~%:[\]-]+$/;

/** Where a token may go: what git writes as `protocol=` and `host=` in a credential request. */
export interface CredentialTarget {
  protocol: string;
  host: string;
}

/**
 * The scheme and host git asks credentials for when it talks to `url`; undefined for a URL that
 * is not http(s) (ssh, a path), for which git asks no credential helper.
 */
export function credentialTarget(url: string): CredentialTarget | undefined {
  const match = HTTP_URL.exec(url);
  if (!match?.[1] || !match[2] || !HOST.test(match[2])) return undefined;
  return { protocol: match[1], host: match[2] };
}

/**
 * The git configuration, as ordered key/value pairs, that answers credential requests for `url`
 * with the token in the environment variable `variable`, and no other request. An empty helper
 * first resets every helper configured before (the user's, the repository's), which git would
 * otherwise ask first; for a URL that takes no token only that reset is returned.
 *
 * @throws Error when `variable` is not an environment variable name, since it is spliced into the
 *   helper's shell code.
 */
export function gitCredentialConfig(
  variable: string,
  url: string,
): ReadonlyArray<readonly [key: string, value: string]> {
  if (!ENV_NAME.test(variable)) throw new Error(`not an environment variable name: ${variable}`);
  const target = credentialTarget(url);
  const reset = ['credential.helper', ''] as const;
  if (target === undefined) return [reset];
  // git writes the request (one key=value per line) and closes the helper's stdin.
  const helper =
    `!f() { test "$1" = get || exit 0; p=; h=; ` +
    `while IFS= read -r l; do case "$l" in protocol=*) p=\${l#protocol=};; host=*) h=\${l#host=};; esac; done; ` +
    `test "$p" = ${shellQuote(target.protocol)} && test "$h" = ${shellQuote(target.host)} || exit 0; ` +
    `echo username=x-access-token; printf 'password=%s\\n' "$${variable}"; }; f`;
  return [reset, ['credential.helper', helper]];
}
