/**
 * The Shepherd image's production node_modules, made the way its Dockerfile makes it: the RUN
 * command of images/shepherd/Dockerfile's `dependencies` stage (`npm ci --omit=dev …`, then the
 * pruning of the Temporal core bridge's other platforms), run in a directory holding only
 * package.json and package-lock.json. That writes half a gigabyte, a minute on a loaded two-core
 * machine, so the result is kept in the cache, keyed by those two files and the command, and made
 * again only when one of them changes (the previous one is removed then).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, repoRoot } from '../../src/processes/tools.js';

const DOCKERFILE = join(repoRoot, 'images', 'shepherd', 'Dockerfile');
const PREFIX = 'shepherd-production-modules-';

/** The RUN command of the Dockerfile's `dependencies` stage, its continued lines joined. */
export function dependenciesCommand(dockerfile = readFileSync(DOCKERFILE, 'utf8')): string {
  const stage = dockerfile.split(/^FROM\s/m).find((s) => /^\S+\s+AS\s+dependencies\s*$/m.test(s));
  const run = stage && /^RUN\s+((?:.*\\\n)*.*)$/m.exec(stage)?.[1];
  if (!run) throw new Error(`${DOCKERFILE} has no RUN in a stage named dependencies`);
  return run.replace(/\\\n/g, ' ');
}

/** A production node_modules directory and how long making it took (undefined: from the cache). */
export interface ProductionModules {
  dir: string;
  installMs?: number;
}

/** Returns the cached production node_modules, making it first when there is none. */
export async function productionModules(): Promise<ProductionModules> {
  const command = dependenciesCommand();
  const hash = createHash('sha256');
  for (const file of ['package.json', 'package-lock.json']) hash.update(readFileSync(join(repoRoot, file)));
  hash.update(command);
  const name = `${PREFIX}${hash.digest('hex').slice(0, 16)}`;
  const cache = cacheDir();
  const target = join(cache, name);
  if (existsSync(join(target, 'node_modules'))) return { dir: join(target, 'node_modules') };

  // Made beside its place and renamed into it, so an interrupted install is never taken for one.
  const partial = join(cache, `.${name}-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  for (const file of ['package.json', 'package-lock.json'])
    copyFileSync(join(repoRoot, file), join(partial, file));
  const started = Date.now();
  try {
    await promisify(execFile)('sh', ['-c', command], { cwd: partial, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  }
  const installMs = Date.now() - started;
  for (const entry of readdirSync(cache)) {
    if (entry.startsWith(PREFIX)) rmSync(join(cache, entry), { recursive: true, force: true });
  }
  renameSync(partial, target);
  return { dir: join(target, 'node_modules'), installMs };
}
