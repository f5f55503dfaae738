/**
 * The images cannot be built without Docker, so what can be checked without it is checked here:
 * hadolint finds nothing in either Dockerfile (a rule is ignored only with its reason written
 * above the pragma), the versions they pin are those of tools/versions.env, what they copy is in
 * the build context, and the release workflow builds each of them with arguments they declare.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { hadolintPath, readToolVersions, repoRoot } from '../../src/processes/tools.js';

const DOCKERFILES = ['images/shepherd/Dockerfile', 'images/runner/Dockerfile'];
const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');

/** The `ARG` instructions of a Dockerfile: name → default (undefined without one). */
function args(dockerfile: string): Map<string, string | undefined> {
  const found = new Map<string, string | undefined>();
  for (const match of read(dockerfile).matchAll(/^ARG\s+([A-Za-z0-9_]+)(?:=(\S+))?\s*$/gm)) {
    found.set(match[1] ?? '', match[2]);
  }
  return found;
}

interface Finding {
  code: string;
  file: string;
  line: number;
  level: string;
  message: string;
}

describe('Dockerfiles', () => {
  it('hadolint finds nothing in either, at any level', () => {
    const hadolint = hadolintPath();
    assert.ok(
      existsSync(hadolint),
      `${hadolint} is missing: run npm test, or bash scripts/setup-tools.sh hadolint`,
    );
    // hadolint exits 1 when it finds something; the findings are on its stdout either way.
    const run = spawnSync(hadolint, ['--format', 'json', '--failure-threshold', 'style', ...DOCKERFILES], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    assert.ok(run.stdout.startsWith('['), `hadolint failed: ${run.stderr}`);
    const findings = JSON.parse(run.stdout) as Finding[];
    assert.deepEqual(
      findings.map((f) => `${f.file}:${f.line} ${f.code} (${f.level}) ${f.message}`),
      [],
    );
  });

  it('ignores a rule only with its reason written above the pragma', () => {
    for (const file of DOCKERFILES) {
      const lines = read(file).split('\n');
      lines.forEach((line, i) => {
        if (!/^#\s*hadolint\s+ignore=/.test(line)) return;
        const above = lines[i - 1] ?? '';
        assert.ok(
          above.startsWith('#') && !/hadolint/.test(above),
          `${file}:${i + 1}: say above the pragma why the rule does not apply`,
        );
      });
    }
  });

  it('both build on the same pinned Node 24 image, the one the tests run on', () => {
    const versions = DOCKERFILES.map((file) => args(file).get('NODE_VERSION'));
    assert.match(versions[0] ?? '', /^24\.\d+\.\d+$/, 'a full Node 24 version, so the base image is pinned');
    assert.deepEqual(new Set(versions).size, 1, `one Node version for both images: ${versions.join(', ')}`);
    assert.equal(
      versions[0],
      readToolVersions().NODE24_VERSION,
      'the Node 24 npm test runs on (tools/versions.env)',
    );
    for (const file of DOCKERFILES) {
      for (const from of read(file).matchAll(/^FROM\s+(\S+)/gm)) {
        assert.equal(
          from[1],
          'node:${NODE_VERSION}-slim',
          `${file}: every stage starts from the pinned node image`,
        );
      }
    }
  });

  it('default their version arguments to the versions tools/versions.env pins', () => {
    const pinned = readToolVersions() as unknown as Record<string, string>;
    const runner = args('images/runner/Dockerfile');
    for (const name of ['CLAUDE_CODE_VERSION', 'OPENCODE_VERSION']) {
      assert.equal(runner.get(name), pinned[name], `images/runner/Dockerfile: ARG ${name}`);
    }
    for (const file of DOCKERFILES) {
      for (const [name, value] of args(file)) {
        if (name in pinned) assert.equal(value, pinned[name], `${file}: ARG ${name}`);
      }
    }
  });

  it('copy only what the build context holds', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const file of DOCKERFILES) {
      for (const copy of read(file).matchAll(/^COPY\s+(?!--from)(.+)$/gm)) {
        const sources = (copy[1] ?? '').trim().split(/\s+/).slice(0, -1);
        for (const source of sources) {
          assert.ok(existsSync(join(repoRoot, source)), `${file}: COPY ${source}: no such file`);
          const top = source.replace(/^\.\//, '').split('/')[0] ?? '';
          assert.ok(!ignored.includes(top), `${file}: COPY ${source}, but .dockerignore leaves out ${top}`);
        }
      }
    }
  });
});

describe('the release workflow (.github/workflows/images.yml)', () => {
  interface Workflow {
    on: { push: { tags: string[] } };
    jobs: Record<
      string,
      {
        strategy: { matrix: { include: Array<{ image: string; dockerfile: string; versions: string }> } };
        steps: Array<{ uses?: string; with?: Record<string, string> }>;
      }
    >;
  }
  const workflow = parse(read('.github/workflows/images.yml')) as Workflow;
  const job = Object.values(workflow.jobs)[0];
  const images = job?.strategy.matrix.include ?? [];

  it('runs on a version tag and builds both images, multi-arch, pushing them', () => {
    assert.deepEqual(workflow.on.push.tags, ['v*']);
    assert.deepEqual(images.map((i) => i.dockerfile).sort(), [...DOCKERFILES].sort());
    const build = job?.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    assert.equal(build?.with?.file, '${{ matrix.dockerfile }}');
    assert.equal(build?.with?.platforms, 'linux/amd64,linux/arm64');
    assert.equal(String(build?.with?.push), 'true');
  });

  it('passes each image the pinned versions it declares as arguments', () => {
    const pinned = readToolVersions() as unknown as Record<string, string>;
    for (const image of images) {
      const declared = args(image.dockerfile);
      for (const name of image.versions.split(/\s+/).filter(Boolean)) {
        assert.ok(declared.has(name), `${image.dockerfile} declares no ARG ${name}`);
        assert.ok(pinned[name], `tools/versions.env sets no ${name}`);
      }
    }
    const runner = images.find((i) => i.image === 'runner');
    assert.deepEqual(runner?.versions.split(' '), ['CLAUDE_CODE_VERSION', 'OPENCODE_VERSION']);
  });
});
