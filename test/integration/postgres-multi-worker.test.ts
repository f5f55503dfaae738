/**
 * Two worker replicas, one SIGKILLed (multi-worker.test.ts), on a Temporal server backed by
 * PostgreSQL with several history shards rather than the dev server.
 */
import { usePostgresTemporal } from '../support/postgres-temporal.js';

await usePostgresTemporal();
await import('./multi-worker.test.js');
