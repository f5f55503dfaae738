/**
 * `npm start`: the embedded default on this machine — Temporal dev server with its Web UI, the
 * worker on the local runtime, and the API on loopback — until Ctrl-C, which stops all of them.
 */
import { execa } from 'execa';
import { pino } from 'pino';
import { missingTools, repoRoot, toolPaths } from '../processes/tools.js';
import { defaultDataDir } from '../runtime/local/local-sessions.js';
import { readStackInfo, startEmbeddedStack } from './stack.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'shepherd' } });
const dataDir = defaultDataDir();

const running = readStackInfo(dataDir);
if (running) {
  console.error(`Shepherd is already running (pid ${running.pid}) with data in ${dataDir}; stop it first.`);
  process.exit(1);
}
if (missingTools({ ...toolPaths() }).includes('temporal')) {
  console.error('# building the Temporal CLI (first start only; a few minutes) ...');
  await execa('bash', ['scripts/setup-tools.sh', 'temporal'], { cwd: repoRoot, stdio: 'inherit' });
}
const started = Date.now();
const triggersFile = process.env.SHEPHERD_TRIGGERS_FILE;
const stack = await startEmbeddedStack({ dataDir, logger, ...(triggersFile ? { triggersFile } : {}) });
console.log(`
Shepherd is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)
  Temporal      ${stack.info.temporalAddress}
  Temporal UI   ${stack.info.temporalUiUrl}
  API           ${stack.info.apiUrl ?? '(not started)'}
  data          ${dataDir}
Try it: npm run demo          Stop: Ctrl-C
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping Shepherd ...');
    void stack.stop().then(() => process.exit(0));
  });
}
await stack.worker.done.catch(() => undefined);
if (!stopping) {
  await stack.stop();
  process.exit(1);
}
