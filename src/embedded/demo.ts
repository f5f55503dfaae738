/**
 * `npm run demo [-- --agent claude]`: makes a local bare git repository, submits a session that
 * edits a file in it, follows the session to its end, and prints the pushed branch and commit.
 * It uses the stack of a running `npm start`, or starts the embedded stack itself for the run.
 * With `--agent claude` (Claude Code installed and ANTHROPIC_API_KEY set) the real agent does
 * the edit.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import { pino } from 'pino';
import { missingTools, repoRoot, toolPaths } from '../processes/tools.js';
import type { AgentSessionSpec } from '../resources/types.js';
import { sessionState, startSessionWorkflow } from '../session-client/session-commands.js';
import { defaultDataDir } from '../runtime/local/local-sessions.js';
import { sessionWorkflowId } from '../workflows/session-contract.js';
import { readStackInfo, startEmbeddedStack } from './stack.js';

const { values } = parseArgs({ options: { agent: { type: 'string', default: 'command' } } });
const dataDir = defaultDataDir();
let stack = readStackInfo(dataDir);
let ownStack: Awaited<ReturnType<typeof startEmbeddedStack>> | undefined;
if (!stack) {
  if (missingTools(toolPaths()).includes('temporal')) {
    console.log('# building the Temporal CLI (first run only; a few minutes) ...');
    await execa('bash', ['scripts/setup-tools.sh', 'temporal'], { cwd: repoRoot, stdio: 'inherit' });
  }
  console.log(`# no \`npm start\` running: starting the embedded stack for this demo (data in ${dataDir})`);
  ownStack = await startEmbeddedStack({ dataDir, logger: pino({ level: 'warn' }) });
  stack = ownStack.info;
}
const finish = async (code: number) => {
  await ownStack?.stop();
  process.exit(code);
};

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
const started = Date.now();
const demoDir = join(dataDir, 'demo');
const repo = join(demoDir, 'hello.git');
if (!existsSync(repo)) {
  mkdirSync(demoDir, { recursive: true });
  const seed = mkdtempSync(join(demoDir, 'seed-'));
  git(seed, 'init', '--quiet', '--initial-branch=main');
  writeFileSync(join(seed, 'README.md'), '# hello\n\nA repository for the Shepherd demo.\n');
  git(seed, 'add', '.');
  git(
    seed,
    '-c',
    'user.name=Shepherd demo',
    '-c',
    'user.email=demo@localhost',
    'commit',
    '--quiet',
    '-m',
    'initial',
  );
  git(demoDir, 'clone', '--quiet', '--bare', seed, repo);
  rmSync(seed, { recursive: true, force: true });
}

const name = `demo-${new Date()
  .toISOString()
  .replace(/[^0-9]/g, '')
  .slice(0, 14)}`;
const prompt = 'Add a file HELLO.md that greets the reader and says which agent wrote it.';
const spec: AgentSessionSpec =
  values.agent === 'claude'
    ? {
        agent: 'claude',
        initialPrompt: prompt,
        provider: { authTokenSecretRef: { name: 'env', key: 'ANTHROPIC_API_KEY' } },
        repos: [{ url: repo, branch: 'main' }],
        timeout: '15m',
      }
    : {
        agent: 'command',
        initialPrompt: prompt,
        command: [
          'sh',
          '-c',
          'printf "# Hello\\n\\nWritten by the Shepherd demo (%s).\\n" "$SHEPHERD_SESSION_NAME" > HELLO.md',
        ],
        repos: [{ url: repo, branch: 'main' }],
        timeout: '5m',
      };

const connection = await Connection.connect({ address: stack.temporalAddress });
const client = new Client({ connection });
await startSessionWorkflow(client, {
  taskQueue: stack.taskQueue,
  input: { namespace: 'default', name, spec },
});
console.log(`session ${name} submitted; follow it in the Temporal UI:`);
console.log(
  `  ${stack.temporalUiUrl}/namespaces/default/workflows/${encodeURIComponent(sessionWorkflowId('default', name))}`,
);

let last = '';
for (;;) {
  const state = await sessionState(client, 'default', name);
  const line = state
    ? `${state.phase}${state.status.attempt ? ` (attempt ${state.status.attempt})` : ''}: ${
        state.status.conditions?.at(-1)?.message ?? ''
      }`
    : 'Pending';
  if (line !== last) console.log(`  ${line}`);
  last = line;
  if (state?.finished) {
    await connection.close();
    const branch = `shepherd/${name}`;
    const pushed = state.status.reconciledRepos?.[0];
    const remote = git(demoDir, 'ls-remote', repo, `refs/heads/${branch}`).split(/\s+/)[0];
    console.log(`\n${state.phase} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`  branch  ${branch}`);
    console.log(`  commit  ${pushed?.commit ?? '(none reported)'} (remote has ${remote || 'nothing'})`);
    if (remote) console.log(`  see it   git --git-dir ${repo} show ${branch} --stat`);
    await finish(state.phase === 'Succeeded' && remote && remote === pushed?.commit ? 0 : 1);
  }
  await sleep(500);
}
