/**
 * Who is calling and what they may do. The kubernetes runtime asks the API server
 * (kubernetes-auth.ts); the local runtime, which listens on loopback for one user, accepts
 * everyone, or only holders of a static token when one is configured.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';

/** The verbs the API checks on `agentsessions`, as RBAC names them. */
export type SessionVerb = 'list' | 'get' | 'create' | 'delete' | 'update';

/** An authenticated caller. */
export interface Caller {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
  /** SHA-256 of the bearer token, hex: a cache key that never holds the token itself. */
  tokenHash: string;
}

/** Authentication and authorization of API calls. */
export interface Authenticator {
  /**
   * Identifies the caller from the `Authorization` header.
   * @throws ApiError Unauthenticated when the token is missing or rejected.
   */
  authenticate(authorization: string | undefined): Promise<Caller>;
  /**
   * @throws ApiError Forbidden when `caller` may not `verb` agentsessions in `namespace`.
   */
  authorize(caller: Caller, verb: SessionVerb, namespace: string): Promise<void>;
  /** Of `namespaces`, those where `caller` may list agentsessions. */
  listableNamespaces(caller: Caller, namespaces: string[]): Promise<string[]>;
}

/** SHA-256 of a token, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/**
 * Local mode: with a static token, callers must present it; without one, anyone who can reach the
 * loopback port is the local user. Tokens are compared as SHA-256 digests with `timingSafeEqual`,
 * so neither the comparison time nor a length mismatch reveals anything about the token.
 */
export function localAuthenticator(staticToken: string | undefined): Authenticator {
  const expected = staticToken ? createHash('sha256').update(staticToken).digest() : undefined;
  return {
    authenticate(authorization) {
      if (!expected) return Promise.resolve({ username: 'local', groups: [], tokenHash: '' });
      const token = bearerToken(authorization);
      if (!token) {
        return Promise.reject(
          new ApiError('Unauthenticated', 'this API needs a bearer token: pass the SHEPHERD_API_TOKEN value'),
        );
      }
      const given = createHash('sha256').update(token).digest();
      if (!timingSafeEqual(given, expected)) {
        return Promise.reject(new ApiError('Unauthenticated', 'the bearer token is not valid for this API'));
      }
      return Promise.resolve({ username: 'local', groups: [], tokenHash: hashToken(token) });
    },
    authorize: () => Promise.resolve(),
    listableNamespaces: (_caller, namespaces) => Promise.resolve(namespaces),
  };
}
