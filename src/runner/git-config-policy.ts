/**
 * Which repository configuration the runner's own git may read once an agent has had the clone:
 * the pure decision behind `clone-guard.ts`. Anything the agent can write in .git/config can send
 * the token elsewhere (`url.*.insteadOf`, `remote.*.pushurl`, `http.proxy`, `credential.*`) or run
 * a program while it is in reach (`core.fsmonitor`, `core.sshCommand`, `filter.*`, `include.path`
 * to a file of its own...). Listing the dangerous keys would miss the next one, so the opposite is
 * done: only keys a fresh clone writes, plus the author, are kept, and `origin` is put back to the
 * session's URL and the standard refspec.
 */

/** One configuration entry as `git config --list` gives it: the key, lower-cased except its subsection. */
export type ConfigEntry = readonly [key: string, value: string];

/** The configuration to write back, and what of the agent's was dropped or changed. */
export interface SanitizedConfig {
  entries: ConfigEntry[];
  /** One phrase per altered key, e.g. `url.http://x/.insteadof (removed)`; empty for an untouched clone. */
  altered: string[];
}

const ORIGIN_FETCH = '+refs/heads/*:refs/remotes/origin/*';

// Plain settings of a clone's own .git/config that make git run nothing and send nothing.
const BOOLEAN = /^(true|false|yes|no|on|off|1|0)$/i;
const KEPT: Record<string, (value: string) => boolean> = {
  'core.repositoryformatversion': (value) => /^[01]$/.test(value),
  'core.filemode': (value) => BOOLEAN.test(value),
  'core.bare': (value) => /^(false|no|off|0)$/i.test(value),
  'core.logallrefupdates': (value) => BOOLEAN.test(value) || value === 'always',
  'core.ignorecase': (value) => BOOLEAN.test(value),
  'core.precomposeunicode': (value) => BOOLEAN.test(value),
  'core.symlinks': (value) => BOOLEAN.test(value),
  'extensions.objectformat': (value) => /^(sha1|sha256)$/.test(value),
  // The author of the runner's commit: the agent could write any author in its own commits anyway.
  'user.name': () => true,
  'user.email': () => true,
};

// What `git clone` writes for the checked-out branch: harmless data, kept so a clean clone is
// reported as clean.
const BRANCH_KEY = /^branch\.[^\n]+\.(remote|merge)$/;

function keptBranchEntry([key, value]: ConfigEntry): boolean {
  if (!BRANCH_KEY.test(key)) return false;
  return key.endsWith('.remote') ? value === 'origin' : /^refs\/heads\/[^\s]+$/.test(value);
}

/**
 * The safe part of a clone's configuration.
 *
 * @param entries The clone's .git/config as read without includes, in file order.
 * @param url The session's URL of the repository: `origin` always points there.
 */
export function sanitizeRepoConfig(entries: readonly ConfigEntry[], url: string): SanitizedConfig {
  const kept: ConfigEntry[] = [];
  const altered = new Set<string>();
  const seen = new Set<string>();
  for (const entry of entries) {
    const [key, value] = entry;
    if (key === 'remote.origin.url' || key === 'remote.origin.fetch') {
      const expected = key === 'remote.origin.url' ? url : ORIGIN_FETCH;
      if (value !== expected || seen.has(key)) altered.add(`${key} (reset)`);
      seen.add(key);
      continue;
    }
    const check = KEPT[key];
    // A single-valued key given twice: git would take the last; only the first is kept, reported.
    if ((check?.(value) && !seen.has(key)) || keptBranchEntry(entry)) {
      kept.push(entry);
      seen.add(key);
    } else {
      altered.add(`${key} (removed)`);
    }
  }
  if (!seen.has('remote.origin.url')) altered.add('remote.origin.url (reset)');
  if (!seen.has('remote.origin.fetch')) altered.add('remote.origin.fetch (reset)');
  return {
    entries: [...kept, ['remote.origin.url', url], ['remote.origin.fetch', ORIGIN_FETCH]],
    altered: [...altered],
  };
}

// The exact text git reads back: quoted, with the characters git escapes escaped.
function quote(text: string): string {
  const escaped = text
    .replaceAll('\\', '\\\\')
    .replaceAll('"', '\\"')
    .replaceAll('\n', '\\n')
    .replaceAll('\t', '\\t');
  return `"${escaped}"`;
}

/**
 * The configuration file holding `entries`, grouped by section in first-seen order.
 *
 * @throws Error for a key without a section and a name (not one `git config --list` gives).
 */
export function renderConfig(entries: readonly ConfigEntry[]): string {
  const sections = new Map<string, string[]>();
  for (const [key, value] of entries) {
    const first = key.indexOf('.');
    const last = key.lastIndexOf('.');
    if (first <= 0 || last === key.length - 1) throw new Error(`not a configuration key: ${key}`);
    const section = key.slice(0, first);
    // A subsection knows only the \" and \\ escapes; the kept keys' subsections are branch names.
    const subsection = key
      .slice(first + 1, last)
      .replaceAll('\\', '\\\\')
      .replaceAll('"', '\\"');
    const header = first === last ? `[${section}]` : `[${section} "${subsection}"]`;
    const lines = sections.get(header) ?? [];
    lines.push(`\t${key.slice(last + 1)} = ${quote(value)}`);
    sections.set(header, lines);
  }
  return [...sections].map(([header, lines]) => `${header}\n${lines.join('\n')}\n`).join('');
}

/**
 * Parses `git config --list --null` output: entries separated by NUL, key and value by the first
 * newline (a key given without a value has no newline and reads as the empty string here).
 */
export function parseConfigList(output: string): ConfigEntry[] {
  return output
    .split('\0')
    .filter((record) => record.length > 0)
    .map((record): ConfigEntry => {
      const newline = record.indexOf('\n');
      return newline < 0 ? [record, ''] : [record.slice(0, newline), record.slice(newline + 1)];
    });
}

// The result must fit in 4 KiB: an agent that adds a thousand keys gets the first few named.
const NOTE_LIMIT = 8;

/** One line saying what the agent altered in a clone, for the result and the session log. */
export function alteredNote(altered: readonly string[]): string {
  const named = altered.slice(0, NOTE_LIMIT).join(', ');
  const more = altered.length > NOTE_LIMIT ? ` and ${altered.length - NOTE_LIMIT} more` : '';
  return `the agent had altered the clone's git setup, which the runner's git ignored: ${named}${more}`;
}
