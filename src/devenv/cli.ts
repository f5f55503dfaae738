/**
 * `npm run env:up` / `npm run env:down`: start the dev environment detached and print shell
 * `export` lines for it, or stop it and remove its directory.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { exportLines, startEnvironment, stopEnvironmentDir } from './environment.js';
import { cacheDir, missingTools, repoRoot, toolPaths } from '../processes/tools.js';

const pointer = join(cacheDir(), 'env-current.json');

async function up(): Promise<void> {
  if (existsSync(pointer)) {
    const { dir } = JSON.parse(readFileSync(pointer, 'utf8')) as { dir: string };
    if (existsSync(dir)) {
      console.error(`an environment is already up in ${dir}; run \`npm run env:down\` first`);
      process.exit(1);
    }
  }
  if (missingTools(toolPaths()).length > 0) {
    // The export lines go to stdout, so the build's progress goes to stderr.
    await execa('bash', ['scripts/setup-tools.sh'], {
      cwd: repoRoot,
      stdout: process.stderr,
      stderr: 'inherit',
    });
  }
  const env = await startEnvironment({ temporalUi: true, temporalPersistent: true, owned: false });
  mkdirSync(cacheDir(), { recursive: true });
  writeFileSync(pointer, JSON.stringify({ dir: env.dir, variables: env.variables }));
  console.error(`# environment ready in ${(env.startMs / 1000).toFixed(1)} s; logs in ${env.dir}/logs`);
  console.error(
    `# Kubernetes API ${env.kubeServer}, Temporal ${env.temporalAddress}, Web UI ${env.temporalUiUrl ?? '-'}`,
  );
  console.error('# stop it with: npm run env:down');
  console.log(exportLines(env));
}

async function down(): Promise<void> {
  const dir =
    process.env.SHEPHERD_ENV_DIR ??
    (existsSync(pointer) ? (JSON.parse(readFileSync(pointer, 'utf8')) as { dir: string }).dir : undefined);
  if (!dir) {
    console.error('no environment is up');
    return;
  }
  await stopEnvironmentDir(dir);
  rmSync(pointer, { force: true });
  console.error(`stopped the environment in ${dir}`);
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  console.error('usage: tsx src/devenv/cli.ts up|down');
  process.exit(2);
}
