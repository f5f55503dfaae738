/**
 * Kubernetes-mode authentication and authorization, delegated to the API server as
 * kube-apiserver's own aggregated APIs do: the bearer token is checked with a TokenReview, and
 * every request with a SubjectAccessReview for its verb on `agentsessions.shepherd.dev` in the
 * request's namespace. So the cluster's RBAC is the only policy: a RoleBinding in namespace A lets
 * a user use the API in A and nowhere else.
 *
 * Decisions are cached briefly (10 s by default) by token hash, verb and namespace, since a CLI
 * polling a session would otherwise cost two API-server round trips per poll; a revoked
 * RoleBinding or token takes effect within that time. Pending reviews are cached as promises, so a
 * burst of identical requests makes one review. Reviews run with the API's own credentials, which
 * need `create` on tokenreviews and subjectaccessreviews.
 */
import * as k8s from '@kubernetes/client-node';
import { GROUP, PLURAL } from '../../resources/constants.js';
import { type Authenticator, bearerToken, type Caller, hashToken, type SessionVerb } from '../../api/auth.js';
import { ApiError } from '../../api/errors.js';

/** Options of the kubernetes authenticator. */
export interface KubernetesAuthOptions {
  /** Credentials allowed to create TokenReviews and SubjectAccessReviews. */
  kubeConfig: k8s.KubeConfig;
  /**
   * How long a TokenReview or SubjectAccessReview answer is reused.
   * @default 10000
   */
  cacheTtlMs?: number;
  /**
   * The most cached answers; the oldest go first.
   * @default 10000
   */
  maxCacheEntries?: number;
  /**
   * Audiences the token must be valid for (TokenReview `spec.audiences`); empty means the API
   * server's own.
   */
  audiences?: string[];
}

/** Concurrent SubjectAccessReviews for `/user/namespaces`. */
const NAMESPACE_REVIEW_CONCURRENCY = 16;

/** A small TTL cache of promises with insertion-order eviction. */
class DecisionCache<T> {
  private readonly entries = new Map<string, { expires: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return hit.value;
    if (hit) this.entries.delete(key);
    const value = compute();
    // A failed review is not a decision: drop it so the next request asks again.
    value.catch(() => this.entries.delete(key));
    this.entries.set(key, { expires: now + this.ttlMs, value });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return value;
  }
}

/** Creates the kubernetes authenticator. */
export function kubernetesAuthenticator(options: KubernetesAuthOptions): Authenticator {
  const authn = options.kubeConfig.makeApiClient(k8s.AuthenticationV1Api);
  const authz = options.kubeConfig.makeApiClient(k8s.AuthorizationV1Api);
  const ttl = options.cacheTtlMs ?? 10_000;
  const max = options.maxCacheEntries ?? 10_000;
  const identities = new DecisionCache<Caller | undefined>(ttl, max);
  const decisions = new DecisionCache<boolean>(ttl, max);

  const review = async (token: string, tokenHash: string): Promise<Caller | undefined> => {
    const result = await authn.createTokenReview({
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(options.audiences?.length ? { audiences: options.audiences } : {}) },
      },
    });
    const user = result.status?.user;
    if (!result.status?.authenticated || !user?.username) return undefined;
    return {
      username: user.username,
      ...(user.uid ? { uid: user.uid } : {}),
      groups: user.groups ?? [],
      ...(user.extra ? { extra: user.extra } : {}),
      tokenHash,
    };
  };

  const allowed = (caller: Caller, verb: SessionVerb, namespace: string): Promise<boolean> =>
    decisions.get(`${caller.tokenHash}|${verb}|${namespace}`, async () => {
      const result = await authz.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: caller.username,
            groups: caller.groups,
            ...(caller.uid ? { uid: caller.uid } : {}),
            ...(caller.extra ? { extra: caller.extra } : {}),
            resourceAttributes: { namespace, verb, group: GROUP, resource: PLURAL.agentSession },
          },
        },
      });
      return result.status?.allowed === true;
    });

  return {
    async authenticate(authorization) {
      const token = bearerToken(authorization);
      if (!token) {
        throw new ApiError(
          'Unauthenticated',
          'this API needs a Kubernetes bearer token: send "Authorization: Bearer <token>" (e.g. from kubectl create token)',
        );
      }
      const tokenHash = hashToken(token);
      const caller = await identities.get(tokenHash, () => review(token, tokenHash));
      if (!caller)
        throw new ApiError('Unauthenticated', 'the bearer token was rejected by the Kubernetes API server');
      return caller;
    },
    async authorize(caller, verb, namespace) {
      if (await allowed(caller, verb, namespace)) return;
      throw new ApiError(
        'Forbidden',
        `${caller.username} may not ${verb} agentsessions.${GROUP} in namespace ${namespace}; ask for a RoleBinding there`,
        { verb, resource: `${PLURAL.agentSession}.${GROUP}`, namespace },
      );
    },
    async listableNamespaces(caller, namespaces) {
      const result: string[] = [];
      for (let i = 0; i < namespaces.length; i += NAMESPACE_REVIEW_CONCURRENCY) {
        const batch = namespaces.slice(i, i + NAMESPACE_REVIEW_CONCURRENCY);
        const answers = await Promise.all(batch.map((namespace) => allowed(caller, 'list', namespace)));
        batch.forEach((namespace, index) => {
          if (answers[index]) result.push(namespace);
        });
      }
      return result;
    },
  };
}
