#!/usr/bin/env node
/**
 * The runner's entry point: the container command of a session's Job and the local runtime's
 * process (`tsx src/runner/main.ts`). It reads its configuration from the environment (see
 * `RUNNER_ENV` and `config.ts`), runs the session, writes the JSON result to SHEPHERD_RESULT_FILE
 * and exits 0 (success), 1 (the agent or the runtime failed, or the run was stopped) or 2 (a
 * prerequisite is missing, or the agent refused to start; stderr says which).
 *
 * SIGTERM or SIGINT stop the run (see `Runner.stop`); whatever state it has reached, the process
 * writes its result and exits 1 within the grace period (SHEPHERD_GRACE_MS, default 20 s).
 */
import process from 'node:process';
import { type RunnerConfig, readRunnerConfig } from './config.js';
import { PrerequisiteError } from './errors.js';
import { writeResult } from './result.js';
import { Runner } from './runner.js';
import { RUNNER_ENV } from '../runner-contract/variables.js';
import { RUNNER_EXIT } from '../runner-contract/exit-codes.js';
import type { RunnerResult } from '../runner-contract/result.js';

const output = {
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
};

// Read before anything else, so even a malformed configuration is reported where the session looks.
const resultFile = process.env[RUNNER_ENV.resultFile]?.trim() || undefined;

function report(result: RunnerResult): void {
  const problem = writeResult(resultFile, result);
  if (problem !== undefined) output.err(`shepherd-runner: ${problem}`);
}

function finish(code: number): never {
  // Writes to pipes and files are synchronous on Linux, so nothing printed is lost by exiting here.
  process.exit(code);
}

function prerequisiteFailed(error: PrerequisiteError): never {
  output.err(`shepherd-runner: ${error.message}`);
  report({ summary: error.message, repos: [] });
  finish(RUNNER_EXIT.prerequisite);
}

let config: RunnerConfig;
try {
  config = readRunnerConfig(process.env);
} catch (error) {
  if (error instanceof PrerequisiteError) prerequisiteFailed(error);
  throw error;
}
const runner = new Runner(config, process.env, output);

const onSignal = (signal: NodeJS.Signals) => {
  if (runner.stopping) return;
  runner.stop(signal);
  // The last resort: if committing and pushing has not finished when the grace period ends, the
  // result says so and the process exits before the kubelet's SIGKILL.
  setTimeout(() => {
    const reason = `stopped by ${signal}; the grace period of ${config.graceMs} ms ran out before all work was pushed`;
    output.err(`shepherd-runner: ${reason}`);
    runner.killAgent();
    report(runner.snapshot(reason));
    finish(RUNNER_EXIT.failure);
  }, config.graceMs - 250).unref();
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

try {
  const outcome = await runner.run();
  if (outcome.exitCode === RUNNER_EXIT.prerequisite)
    output.err(`shepherd-runner: ${outcome.result.summary ?? ''}`);
  report(outcome.result);
  finish(outcome.exitCode);
} catch (error) {
  if (error instanceof PrerequisiteError) prerequisiteFailed(error);
  const reason = `the runner failed: ${error instanceof Error ? error.message : String(error)}`;
  output.err(`shepherd-runner: ${reason}`);
  runner.killAgent();
  report(runner.snapshot(reason));
  finish(RUNNER_EXIT.failure);
}
