/**
 * The kubeconfig of a process: the worker and the API talk to the cluster with the same rules,
 * over pooled keep-alive connections.
 *
 * client-node 1.x gives every API call an https.Agent of its own, so each call opens a TCP
 * connection and does a TLS handshake with a SecureContext built anew from the CA and client
 * certificate: in a worker's CPU profile at 5 sessions/s that was a third of its busy time, and
 * the larger part of a session's start. Here every call's agent is swapped for a shared keep-alive
 * one with the same TLS options; a rotated certificate or CA has other options, so it gets an agent
 * of its own (a handful are kept). Proxy agents are left as they are.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';

/** The agent options that tell one cluster identity from another. */
const TLS_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

type Agent = http.Agent | https.Agent;

/**
 * As Node's own global agent keeps connections: an idle one is closed after a while (here 30 s),
 * before a load balancer in front of the API server could drop it under a request.
 */
const KEEP_ALIVE = { keepAlive: true, timeout: 30_000, scheduling: 'lifo' } as const;

/** An agent option as text for the pool's key: PEM buffers by their content. */
function optionText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(optionText).join(',');
  // Strings, numbers, booleans and plain objects by their JSON.
  return JSON.stringify(value) ?? '';
}

/** A KubeConfig whose calls and watches share keep-alive agents. */
class PooledKubeConfig extends KubeConfig {
  private readonly agents = new LRUCache<string, Agent>({ max: 8 });

  private pooled(agent: Agent): Agent {
    const plain = agent.constructor === https.Agent || agent.constructor === http.Agent;
    if (!plain) return agent;
    const options = (agent as https.Agent).options;
    const identity = createHash('sha256');
    identity.update(agent.constructor === https.Agent ? 'https' : 'http');
    for (const name of TLS_OPTIONS) identity.update(`\0${name}=${optionText(options[name])}`);
    const key = identity.digest('hex');
    let shared = this.agents.get(key);
    if (!shared) {
      shared =
        agent.constructor === https.Agent
          ? new https.Agent({ ...options, ...KEEP_ALIVE })
          : new http.Agent({ ...options, ...KEEP_ALIVE });
      this.agents.set(key, shared);
    }
    return shared;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const agent = context.getAgent();
    if (agent) context.setAgent(this.pooled(agent));
  }

  override async applyToFetchOptions(
    opts: https.RequestOptions,
  ): ReturnType<KubeConfig['applyToFetchOptions']> {
    const init = await super.applyToFetchOptions(opts);
    return init.agent instanceof http.Agent ? { ...init, agent: this.pooled(init.agent) } : init;
  }
}

/** The kubeconfig file if one is named (`KUBECONFIG`), else in-cluster, else ~/.kube/config. */
export function loadKubeConfig(file: string | undefined): KubeConfig {
  const kubeConfig = new PooledKubeConfig();
  if (file) kubeConfig.loadFromFile(file);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}
