/**
 * Writes the NamespacePolicy ValidatingAdmissionPolicy and its binding, generated from
 * src/policy/policy-rules.ts, into the chart (charts/shepherd/files/admission/), which
 * templates/namespace-policy-admission.yaml renders. The files are committed so the chart is
 * installable without running TypeScript; test/unit/admission-policy.test.ts fails when they
 * differ from what this script (`npm run policy:sync`) writes. `--check` only compares.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { admissionFiles } from '../src/policy/admission-policy.js';

const dir = new URL('../charts/shepherd/files/admission/', import.meta.url);
const files = admissionFiles();
const targets = [
  ['validating-admission-policy.yaml', files.policy],
  ['validating-admission-policy-binding.yaml', files.binding],
] as const;

let stale = false;
for (const [name, text] of targets) {
  const file = new URL(name, dir);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // A missing file is as stale as a different one.
    }
    if (current !== text) {
      console.error(`charts/shepherd/files/admission/${name} is out of date: run npm run policy:sync`);
      stale = true;
    }
  } else {
    writeFileSync(file, text);
  }
}
if (stale) process.exit(1);
