/**
 * The local runtime's stand-in for the cluster's AgentTriggers and their Secrets: one YAML file
 * (`SHEPHERD_TRIGGERS_FILE`) of documents as `kubectl apply` would take them — AgentTrigger and
 * Secret objects. Read whole, and read again when it changes, so editing it needs no restart.
 * Only the documents' shapes are checked here; the triggers are validated where they are used.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { AgentTrigger, ObjectMeta } from '../resources/types.js';

/** A Secret as a file may write it. */
export interface LocalSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  stringData?: Record<string, string>;
  /** base64, as in a Secret manifest. */
  data?: Record<string, string>;
}

/** What the file holds. */
export interface LocalResources {
  triggers: AgentTrigger[];
  secrets: LocalSecret[];
}

/** Parses the file's text; throws naming the document and what is wrong with it. */
export function parseLocalResources(text: string, file = 'the triggers file'): LocalResources {
  const triggers: AgentTrigger[] = [];
  const secrets: LocalSecret[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    if (document.errors.length > 0) {
      throw new Error(`${file}, document ${index + 1}: ${document.errors[0]?.message ?? 'not YAML'}`);
    }
    const object = document.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
    if (object === null) return;
    const where = `${file}, document ${index + 1}`;
    if (typeof object.metadata?.name !== 'string') throw new Error(`${where}: metadata.name is missing`);
    if (object.kind === 'AgentTrigger') {
      const trigger = object as unknown as AgentTrigger;
      trigger.metadata.namespace ??= 'default';
      triggers.push(trigger);
    } else if (object.kind === 'Secret') {
      const secret = object as unknown as LocalSecret;
      secret.metadata.namespace ??= 'default';
      secrets.push(secret);
    } else {
      throw new Error(`${where}: kind ${String(object.kind)} is not AgentTrigger or Secret`);
    }
  });
  return { triggers, secrets };
}

/**
 * The file's resources, read again whenever its modification time or size changed; an empty set
 * when no file is configured. A file that turns bad keeps the last good contents and reports the
 * error to `onError`.
 */
export function localResourcesFile(
  file: string | undefined,
  onError: (error: Error) => void = () => undefined,
): () => LocalResources {
  let stamp = '';
  let current: LocalResources = { triggers: [], secrets: [] };
  return () => {
    if (!file) return current;
    try {
      const stat = statSync(file);
      const next = `${stat.mtimeMs}:${stat.size}`;
      if (next !== stamp) {
        current = parseLocalResources(readFileSync(file, 'utf8'), file);
        stamp = next;
      }
    } catch (error) {
      onError(error instanceof Error ? error : new Error(String(error)));
    }
    return current;
  };
}
