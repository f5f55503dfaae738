/**
 * The `shepherd` CLI: submit, list, get, follow, prompt, approve, stop, restart and delete sessions
 * through the API, and `dev` to start the local stack. Exit status: 0 on success (for `--wait`,
 * only when the session Succeeded, its last turn succeeded, or its agent asks a question), 1 when
 * the session did not succeed or the API said no (a refused prompt or approval included), 2 on
 * bad usage.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { ApiSession } from '../api/session-backend.js';
import { createInterface } from 'node:readline';
import { ApiCallError, ApiClient } from './api-client.js';
import { promptLoop, turnSettled, turnWentWell } from './conversation.js';
import { resolveCliConfig } from './cli-config.js';
import {
  conditionLine,
  machine,
  type OutputFormat,
  outputFormat,
  sessionSummary,
  sessionTable,
  triggerSummary,
  triggerTable,
} from './output.js';
import { buildCreateBody, parseSessionFile, type RunFlags } from './session-request.js';
import { usd } from '../workflows/session-limits.js';

/** How often `--wait` polls the session. */
const WAIT_POLL_MS = 500;
/** The repository root, where `npm start` runs. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface GlobalOptions {
  apiUrl?: string;
  token?: string;
  namespace?: string;
  output?: string;
}

function context(command: Command): { api: ApiClient; namespace: string; format: OutputFormat } {
  const options = command.optsWithGlobals<GlobalOptions>();
  const config = resolveCliConfig(options);
  return {
    api: new ApiClient(config.apiUrl, config.token),
    namespace: config.namespace,
    format: outputFormat(options.output),
  };
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function show(value: unknown, format: OutputFormat, human: string): void {
  print(machine(value, format) ?? human);
}

/**
 * Follows a session until it finishes or waits for a prompt after turn `turn` (any turn when not
 * given), printing each phase change and each condition that changes; returns the session then.
 */
async function waitFor(
  api: ApiClient,
  namespace: string,
  name: string,
  quiet: boolean,
  turn?: number,
): Promise<ApiSession> {
  let lastPhase: string | undefined;
  const seen = new Map<string, string>();
  for (;;) {
    const session = await api.get(namespace, name);
    const phase = session.status.phase ?? 'Pending';
    if (!quiet) {
      if (phase !== lastPhase) process.stderr.write(`${new Date().toISOString()} phase ${phase}\n`);
      for (const condition of session.status.conditions ?? []) {
        const line = conditionLine(condition);
        if (seen.get(condition.type) !== line) {
          seen.set(condition.type, line);
          process.stderr.write(`${new Date().toISOString()}   ${line}\n`);
        }
      }
    }
    lastPhase = phase;
    if (turnSettled(session, turn)) return session;
    await sleep(WAIT_POLL_MS);
  }
}

/** `--cap-usd`: a number of US dollars above 0 (what is spent already only the session knows). */
function usdAmount(value: string): number {
  const usd = Number(value);
  if (value.trim() === '' || !Number.isFinite(usd) || usd <= 0) {
    throw new InvalidArgumentError('give an amount of US dollars above 0, e.g. 5 or 12.50');
  }
  return usd;
}

/** The options of `shepherd run`. */
type RunOptions = RunFlags & { file?: string; wait?: boolean; interactive?: boolean };

/** Builds the program. `exitOverride` makes usage errors throw instead of exiting, for tests. */
export function program(): Command {
  const cli = new Command('shepherd')
    .description('Run AI coding agents as Shepherd sessions.')
    .option('--api-url <url>', 'Shepherd API URL (env SHEPHERD_API_URL; default http://127.0.0.1:8080)')
    .option('--token <token>', 'bearer token (env SHEPHERD_TOKEN)')
    .option('-n, --namespace <namespace>', 'namespace (env SHEPHERD_NAMESPACE; default "default")')
    .option('-o, --output <format>', 'output format: json or yaml (default: for people)')
    .showHelpAfterError();

  const collect = (value: string, previous: string[] = []) => [...previous, value];

  cli
    .command('run')
    .description('Start a session (from flags, or -f session.yaml with flags overriding it)')
    .option('--name <name>', 'session name (default: <agent>-<random>)')
    .addOption(new Option('--agent <agent>', 'agent to run').choices(['claude', 'opencode', 'command']))
    .option('--prompt <text>', 'the task for the agent (INITIAL_PROMPT)')
    .option('--repo <url[@branch]>', 'a repository to work on; repeatable', collect)
    .option('--command <shell>', 'for agent command: a command line run with sh -c (or give argv after --)')
    .option('--timeout <duration>', 'per-attempt timeout, e.g. 30m or 1h30m')
    .option('--retries <n>', 'extra attempts after a runtime failure')
    .option('--image <image>', 'runner image')
    .option('--model <model>', 'model for the agent')
    .option('--label <key=value>', 'session label; repeatable', collect)
    .option('--annotation <key=value>', 'runner pod annotation; repeatable', collect)
    .option('-f, --file <path>', 'session file (YAML or JSON): an AgentSession or its spec')
    .option('--keep-open', 'keep the session open for more prompts after a turn (shepherd send)')
    .option('--inactivity-timeout <duration>', 'how long an open session waits for a prompt, e.g. 2h')
    .option(
      '--wait',
      'follow phase and conditions until the session finishes or waits for a prompt; exit 0 only if it went well',
    )
    .option(
      '-i, --interactive',
      "keep the session open and converse: stream each turn's log, then send each line of input as the next prompt; end of input leaves it open",
    )
    .argument('[argv...]', 'for agent command: the command and its arguments (after --)')
    .action(async (argv: string[], flags: RunOptions, command: Command) => {
      const { api, namespace, format } = context(command);
      const file = flags.file ? parseSessionFile(readFileSync(flags.file, 'utf8')) : undefined;
      const body = buildCreateBody(
        { ...flags, argv, ...(flags.interactive ? { keepOpen: true } : {}) },
        file,
      );
      const created = await api.create(namespace, body);
      if (flags.interactive) {
        const name = created.metadata.name;
        process.stderr.write(`session ${name} created in ${created.metadata.namespace}\n`);
        const input = createInterface({ input: process.stdin, terminal: false });
        try {
          const last = await promptLoop(api, namespace, name, {
            input,
            log: process.stdout,
            notes: process.stderr,
          });
          if (last.status.phase && !turnWentWell(last)) {
            process.stderr.write(`${sessionSummary(last)}\n`);
            process.exitCode = 1;
          }
        } finally {
          input.close();
        }
        return;
      }
      if (!flags.wait) {
        show(created, format, `session ${created.metadata.name} created in ${created.metadata.namespace}`);
        return;
      }
      process.stderr.write(`session ${created.metadata.name} created in ${created.metadata.namespace}\n`);
      const done = await waitFor(api, namespace, created.metadata.name, format !== 'human');
      show(done, format, sessionSummary(done));
      if (!turnWentWell(done)) process.exitCode = 1;
    });

  for (const kind of ['prompt', 'answer'] as const) {
    cli
      .command(kind === 'prompt' ? 'send' : 'answer')
      .description(
        kind === 'prompt'
          ? "Send a session the prompt for its next turn (while it waits for an answer, the prompt is the answer); prints the turn's number"
          : "Answer the question the session's agent asked; prints the number of the turn the answer starts",
      )
      .argument('<name>')
      .argument('[text]', 'the text; - or none reads it from standard input')
      .option(
        '--wait',
        'follow the turn until the session finishes or waits again; exit 0 only if it went well',
      )
      .action(async (name: string, text: string | undefined, flags: { wait?: boolean }, command: Command) => {
        const { api, namespace, format } = context(command);
        const prompt = text === undefined || text === '-' ? readFileSync(0, 'utf8') : text;
        const accepted = await api.prompt(namespace, name, kind, prompt);
        if (!flags.wait) {
          show(accepted, format, `turn ${accepted.turn}`);
          return;
        }
        process.stderr.write(`session ${name}: turn ${accepted.turn}\n`);
        const done = await waitFor(api, namespace, name, format !== 'human', accepted.turn);
        show(done, format, sessionSummary(done));
        if (!turnWentWell(done)) process.exitCode = 1;
      });
  }

  cli
    .command('approve')
    .description(
      'Resume a session waiting at a budget cap (WaitingForApproval) with a higher cap; prints which cap was raised, and to what',
    )
    .argument('<name>')
    .requiredOption(
      '--cap-usd <usd>',
      "the new cap in US dollars, above what was spent (the session's own, or the namespace's this month)",
      usdAmount,
    )
    .action(async (name: string, flags: { capUsd: number }, command: Command) => {
      const { api, namespace, format } = context(command);
      const approved = await api.approve(namespace, name, flags.capUsd);
      const which = approved.cap === 'session' ? 'session cap' : "namespace's monthly cap (for this session)";
      show(approved, format, `session ${name}: ${which} raised to ${usd(approved.capUsd)}`);
    });

  cli
    .command('list')
    .alias('ls')
    .description('List sessions')
    .option('--phase <phase>', 'only sessions in this phase')
    .option('--limit <n>', 'sessions per page', '100')
    .option('--all-pages', 'follow every page')
    .action(async (flags: { phase?: string; limit: string; allPages?: boolean }, command: Command) => {
      const { api, namespace, format } = context(command);
      const items: ApiSession[] = [];
      let token: string | undefined;
      do {
        const page = await api.list(namespace, {
          limit: Number(flags.limit),
          ...(flags.phase ? { phase: flags.phase } : {}),
          ...(token ? { continue: token } : {}),
        });
        items.push(...page.items);
        token = flags.allPages ? page.metadata.continue : undefined;
      } while (token);
      print(machine({ items }, format) ?? sessionTable(items));
    });

  cli
    .command('get')
    .description('Show a session')
    .argument('<name>')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const { api, namespace, format } = context(command);
      const session = await api.get(namespace, name);
      show(session, format, sessionSummary(session));
    });

  const triggers = cli.command('triggers').description('List and describe the AgentTriggers of a namespace');
  triggers
    .command('list', { isDefault: true })
    .alias('ls')
    .description('List the triggers: source, whether each is ready, what it matches')
    .action(async (_flags: unknown, command: Command) => {
      const { api, namespace, format } = context(command);
      const { items } = await api.triggers(namespace);
      show(items, format, triggerTable(items));
    });
  triggers
    .command('describe')
    .description('Show one trigger')
    .argument('<name>')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const { api, namespace, format } = context(command);
      const trigger = await api.trigger(namespace, name);
      show(trigger, format, triggerSummary(trigger));
    });

  cli
    .command('watch')
    .description(
      'Follow a session until it finishes or waits for a prompt; exit 0 only if it went well (Succeeded, its turn succeeded, or it asks a question)',
    )
    .argument('<name>')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const { api, namespace, format } = context(command);
      const done = await waitFor(api, namespace, name, format !== 'human');
      show(done, format, sessionSummary(done));
      if (!turnWentWell(done)) process.exitCode = 1;
    });

  cli
    .command('logs')
    .description("Print a session's runner log")
    .argument('<name>')
    .option('-f, --follow', 'keep streaming until the runner ends')
    .action(async (name: string, flags: { follow?: boolean }, command: Command) => {
      const { api, namespace } = context(command);
      await api.logs(namespace, name, flags.follow === true, process.stdout);
    });

  for (const [action, verb] of [
    ['stop', 'Stop'],
    ['restart', 'Restart'],
  ] as const) {
    cli
      .command(action)
      .description(`${verb} a session`)
      .argument('<name>')
      .action(async (name: string, _flags: unknown, command: Command) => {
        const { api, namespace, format } = context(command);
        const session = await api.action(namespace, name, action);
        show(session, format, `session ${name} ${action === 'stop' ? 'stopping' : 'restarting'}`);
      });
  }

  cli
    .command('delete')
    .alias('rm')
    .description('Delete a session (its workflow is cancelled and its workspace removed)')
    .argument('<name>')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const { api, namespace, format } = context(command);
      const session = await api.delete(namespace, name);
      show(session, format, `session ${name} deleted`);
    });

  cli
    .command('dev')
    .description('Start the local stack (Temporal, worker, API): the same as npm start')
    .action(async () => {
      const child = spawn('npm', ['start'], { cwd: REPO_ROOT, stdio: 'inherit' });
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
      process.exitCode = await new Promise<number>((resolve) =>
        child.once('exit', (code) => resolve(code ?? 1)),
      );
    });

  return cli;
}

/** Runs the CLI on `argv` (as process.argv) and sets the exit code. */
export async function main(argv: string[] = process.argv): Promise<void> {
  // A reader that went away (`shepherd logs -f NAME | head`) is the user being done, not an
  // error: end quietly, as other command-line tools do, instead of with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
  const cli = program().exitOverride();
  try {
    await cli.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" with exit code 0; usage mistakes exit 2.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof ApiCallError) {
      process.stderr.write(`error: ${error.message} (${error.code})\n`);
    } else {
      process.stderr.write(`error: ${(error as Error).message}\n`);
    }
    process.exitCode = 1;
  }
}
