/**
 * Bundles the runner into one ES module with esbuild: the runner image ships it (its Dockerfile,
 * images/runner/Dockerfile, runs `npm run build:runner`), the Shepherd image's dist/ holds one
 * (src/image/build-dist.ts), and the local runtime runs it, because a runner loaded from its
 * TypeScript sources through tsx spends seconds transforming hundreds of modules at every start.
 *
 * `tsx src/runner/bundle.ts OUTFILE` writes the bundle to OUTFILE.
 */
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';

/** The runner's entry point. */
const ENTRY = fileURLToPath(new URL('./main.ts', import.meta.url));

/** How Shepherd's bundles are built: ES modules for the oldest Node the package supports. */
export const NODE_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // esbuild's ESM output needs a `require` for the CommonJS modules it bundles (execa's).
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: 'warning',
} satisfies BuildOptions;

/** Writes the runner bundle to `outfile` (its directory is created) and returns `outfile`. */
export async function bundleRunner(outfile: string): Promise<string> {
  await build({ ...NODE_BUNDLE_OPTIONS, entryPoints: [ENTRY], outfile });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outfile = process.argv[2];
  if (!outfile) {
    console.error('usage: tsx src/runner/bundle.ts OUTFILE');
    process.exit(2);
  }
  await bundleRunner(outfile);
}
