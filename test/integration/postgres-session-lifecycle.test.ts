/**
 * The session lifecycle scenarios (session-lifecycle.test.ts) once more, on a Temporal server
 * backed by PostgreSQL with several history shards rather than the dev server.
 */
import { usePostgresTemporal } from '../support/postgres-temporal.js';

await usePostgresTemporal();
await import('./session-lifecycle.test.js');
