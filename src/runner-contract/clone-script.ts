/**
 * The shell script of the Job's clone step. It clones each repository into the workspace before
 * the runner starts, and leaves a clone from an earlier attempt alone, so a retry continues on the
 * agent's earlier work. A clone is made under a temporary name and renamed when complete, so a
 * step killed mid-clone leaves nothing half-done for the next attempt to trust.
 *
 * Git tokens are never in the script: each repository names the environment variable holding its
 * token, which the Job fills from the session Secret, and a credential helper reads it at run time,
 * answering only for that repository's own host.
 *
 * The user's git configuration is ignored (GIT_CONFIG_GLOBAL=/dev/null): HOME is on the workspace,
 * where an agent of an earlier attempt could have left a ~/.gitconfig that rewrites the URL the
 * token is sent to. The image's system configuration still applies: no agent runs in this step.
 */
import type { ResolvedRepo } from '../session/resolved-session.js';
import { gitCredentialConfig } from './git-credentials.js';
import { shellQuote } from './shell.js';
import { gitTokenEnv } from './variables.js';

/**
 * The credential helper for `url` (empty when the URL takes no token), passed to `git -c`, which
 * keeps it out of the clone's .git/config, so the token is not written to the workspace. The
 * helper reads GIT_TOKEN, which clone_repo sets from the repository's own token variable.
 */
function credentialHelper(url: string): string {
  const helpers = gitCredentialConfig('GIT_TOKEN', url).filter(([key]) => key === 'credential.helper');
  return helpers.at(-1)?.[1] ?? '';
}

// A repository that cannot be cloned is a missing prerequisite: exit 2, so the session fails
// PrerequisiteFailed instead of retrying something that cannot work.
const CLONE_FUNCTION = `set -eu
export GIT_TERMINAL_PROMPT=0
export GIT_CONFIG_GLOBAL=/dev/null
mkdir -p "$HOME"
prerequisite_failed() {
  echo "shepherd: $1" >&2
  exit 2
}
clone_repo() {
  url=$1; target=$2; branch=$3; commit=$4; token_var=$5; helper=$6
  if [ -d "$target/.git" ]; then
    echo "shepherd: keeping $target from an earlier attempt"
    return 0
  fi
  rm -rf "$target.partial"
  GIT_TOKEN=""
  if [ -n "$token_var" ]; then GIT_TOKEN=$(printenv "$token_var" || true); fi
  export GIT_TOKEN
  set -- clone --quiet
  if [ -n "$branch" ]; then set -- "$@" --branch "$branch"; fi
  if [ -n "$GIT_TOKEN" ] && [ -n "$helper" ]; then
    # The empty helper first resets any helper configured before this one.
    git -c credential.helper= -c "credential.helper=$helper" "$@" -- "$url" "$target.partial" ||
      prerequisite_failed "cannot clone $url: check that it exists and that its credentialsSecretRef token may read it"
  else
    git "$@" -- "$url" "$target.partial" ||
      prerequisite_failed "cannot clone $url: check that it exists and is readable (private repositories need credentialsSecretRef)"
  fi
  if [ -n "$commit" ]; then
    git -C "$target.partial" checkout --quiet --detach "$commit" ||
      prerequisite_failed "commit $commit does not exist in $url: fix spec.repos[].commit"
  fi
  mv "$target.partial" "$target"
  echo "shepherd: cloned $url into $target"
}
`;

/**
 * The clone step's script.
 *
 * @param repos The session's repositories, in order; the index gives each its token variable.
 * @param workspace Where the workspace is mounted.
 */
export function buildCloneScript(repos: readonly ResolvedRepo[], workspace: string): string {
  const calls = repos.map((repo, index) =>
    [
      'clone_repo',
      shellQuote(repo.url),
      shellQuote(`${workspace}/${repo.dir}`),
      shellQuote(repo.branch ?? ''),
      shellQuote(repo.commit ?? ''),
      shellQuote(repo.credentialsSecretRef ? gitTokenEnv(index) : ''),
      shellQuote(repo.credentialsSecretRef ? credentialHelper(repo.url) : ''),
    ].join(' '),
  );
  return `${CLONE_FUNCTION}${calls.join('\n')}\n`;
}
