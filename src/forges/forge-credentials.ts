/**
 * The credentials a forge adapter calls the forge with, read from a Secret's keys: `token` (a
 * personal, bot or fine-grained token; GitHub or Gitea), or `appId` + `privateKey` and optionally
 * `installationId` (a GitHub App, whose installation tokens are minted per call). A missing Secret
 * or key is an error naming the Secret and the key; values never appear in an error.
 */
import { createPrivateKey } from 'node:crypto';
import { CredentialsNotFoundError } from '../runtime/errors.js';
import type { SecretSource } from '../triggers/secret-source.js';
import { ForgeRefusedError } from './forge.js';

/** A token sent as is. */
export interface TokenCredentials {
  token: string;
}

/** A GitHub App: its id and private key, and the installation when it is known. */
export interface AppCredentials {
  appId: number;
  /** PEM. */
  privateKey: string;
  /** Found from the repository (GET /repos/{owner}/{repo}/installation) when unset. */
  installationId?: number;
}

/** What a forge adapter authenticates with. */
export type ForgeCredentials = TokenCredentials | AppCredentials;

/** Whether `credentials` are a GitHub App's. */
export function isAppCredentials(credentials: ForgeCredentials): credentials is AppCredentials {
  return 'appId' in credentials;
}

function positiveInteger(value: string, where: string, key: string): number {
  const trimmed = value.trim();
  const number = Number(trimmed);
  if (!/^[0-9]+$/.test(trimmed) || !Number.isSafeInteger(number) || number <= 0) {
    throw new ForgeRefusedError(
      `${where} key ${key} must be a positive integer (the number GitHub shows for the App or its installation)`,
    );
  }
  return number;
}

/**
 * The forge credentials of the Secret `secretName` in `namespace`: `token` when it is set, else a
 * GitHub App's `appId` and `privateKey` (and `installationId` when given). Throws
 * CredentialsNotFoundError naming the Secret and the missing key, and ForgeRefusedError for a value
 * that cannot be used (an app id that is not a number, a private key that is not a PEM key).
 */
export async function readForgeCredentials(
  secrets: SecretSource,
  namespace: string,
  secretName: string,
): Promise<ForgeCredentials> {
  const where = `Secret ${namespace}/${secretName}`;
  const read = (key: string) => secrets.read(namespace, { name: secretName, key });
  const token = (await read('token'))?.trim();
  if (token) return { token };
  const [appId, privateKey, installationId] = await Promise.all([
    read('appId'),
    read('privateKey'),
    read('installationId'),
  ]);
  if (!appId?.trim() && !privateKey?.trim()) {
    throw new CredentialsNotFoundError(
      `${where} has no key token (a forge token), nor appId and privateKey (a GitHub App): create the Secret with one of them`,
    );
  }
  if (!appId?.trim()) {
    throw new CredentialsNotFoundError(`${where} has privateKey but no key appId: add the GitHub App's id`);
  }
  if (!privateKey?.trim()) {
    throw new CredentialsNotFoundError(
      `${where} has appId but no key privateKey: add the GitHub App's private key (PEM)`,
    );
  }
  // A key pasted into an environment variable often arrives with literal "\n" for its newlines.
  const pem =
    privateKey.includes('\\n') && !privateKey.includes('\n')
      ? privateKey.replaceAll('\\n', '\n')
      : privateKey;
  try {
    createPrivateKey(pem);
  } catch {
    throw new ForgeRefusedError(
      `${where} key privateKey is not a PEM private key: store the .pem file GitHub generated for the App, as it is`,
    );
  }
  return {
    appId: positiveInteger(appId, where, 'appId'),
    privateKey: pem.trim(),
    ...(installationId?.trim()
      ? { installationId: positiveInteger(installationId, where, 'installationId') }
      : {}),
  };
}

/** How messages name these credentials, e.g. `the token of Secret default/forge`. */
export function describeCredentials(credentials: ForgeCredentials, source: string): string {
  return isAppCredentials(credentials) ? `the GitHub App of ${source}` : `the token of ${source}`;
}
