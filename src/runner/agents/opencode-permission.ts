/**
 * The policy's tool lists as OpenCode's `permission` configuration, which the runner hands OpenCode
 * in OPENCODE_PERMISSION. OpenCode merges that variable into its configuration after every file
 * and inline configuration it reads, so neither the provider's OPENCODE_CONFIG_CONTENT nor a
 * repository's opencode.json can set the same top-level permission back. An agent's own
 * `permission` in a configuration (`agent.build.permission`) still comes after it, as OpenCode
 * orders its rules: docs/policy.md says so.
 *
 * The policy names tools the way Claude Code does (`Bash`, `Bash(git diff:*)`, `Edit`, `WebFetch`),
 * and this module translates what has an exact counterpart in OpenCode (1.18):
 *
 * - a tool name maps to OpenCode's permission of that tool (`Write`, `Edit`, `MultiEdit` and
 *   `NotebookEdit` are all OpenCode's `edit`, which covers its write and patch tools too);
 * - `Bash(<command>)` maps to a `bash` rule for that command pattern; Claude Code's prefix form
 *   `Bash(git diff:*)` becomes the patterns `git diff` and `git diff *`;
 * - an entry starting with a lowercase letter (`bash`, `lsp`, `github_*`, `bash(git *)`), other than
 *   Claude Code's MCP names (`mcp__github__create_pr`), is an OpenCode permission already and is
 *   passed as is, so a policy can name what only OpenCode has (its MCP tools, `list`, `lsp`);
 *   Claude Code has no built-in tool by such a name, so there it matches nothing.
 *
 * Everything else fails closed. A denied entry with a specifier OpenCode cannot express
 * (`WebFetch(domain:example.com)`, `Edit(src/**)`: Claude Code's path and domain rules have no
 * exact OpenCode equivalent) denies the whole tool; an allowed one allows nothing. A Claude Code
 * tool without an OpenCode counterpart is left out, since OpenCode has no such tool to restrict.
 * The launch notes each such entry in the session log.
 *
 * An allow list denies every permission first (`"*": "deny"`) and then allows what it lists:
 * OpenCode takes the last rule that matches, and `--auto` approves only what is not denied. As in
 * Claude Code, tools that only read or search files (read, glob, grep, list) stay usable, and the
 * deny list wins over the allow list.
 */

/** Claude Code's tool names and the OpenCode permission each one is. */
const OPENCODE_PERMISSION_OF: Readonly<Record<string, string>> = {
  Bash: 'bash',
  Edit: 'edit',
  Write: 'edit',
  MultiEdit: 'edit',
  NotebookEdit: 'edit',
  Read: 'read',
  Glob: 'glob',
  Grep: 'grep',
  LS: 'list',
  WebFetch: 'webfetch',
  WebSearch: 'websearch',
  Task: 'task',
  Agent: 'task',
  TodoWrite: 'todowrite',
  Skill: 'skill',
};

/** OpenCode's permissions that need no approval in Claude Code either: reading and searching. */
const READ_ONLY = ['read', 'glob', 'grep', 'list'] as const;

/** OpenCode's permissions that take an action only, no patterns. */
const ACTION_ONLY = new Set(['todowrite', 'question', 'webfetch', 'websearch', 'doom_loop']);

type Action = 'allow' | 'deny';

/** OpenCode's `permission`: for each permission, its patterns and what they get, in order. */
export type OpencodePermission = Record<string, Record<string, Action>>;

/** What one policy entry is for OpenCode. */
interface Translation {
  /** The OpenCode permission, when there is one. */
  key?: string;
  /** The patterns the entry covers; undefined means the whole permission. */
  patterns?: string[];
  /** Why the entry is not exactly what it is for Claude Code (then it fails closed). */
  inexact?: string;
}

const ENTRY = /^([A-Za-z][A-Za-z0-9_*-]*)(?:\((.*)\))?$/s;

function translate(entry: string): Translation {
  const match = ENTRY.exec(entry.trim());
  const [, name = '', specifier] = match ?? [];
  if (match === null) return { inexact: `${JSON.stringify(entry)} is no tool name OpenCode knows` };
  // Claude Code's MCP tools are `mcp__<server>__<tool>`; OpenCode names them `<server>_<tool>`,
  // after its own rules for the names, so the policy names them for OpenCode itself.
  if (name.startsWith('mcp__')) {
    return {
      inexact: `${name} is Claude Code's name of an MCP tool; name OpenCode's (such as github_*) too`,
    };
  }
  // Another lowercase name is OpenCode's own permission: Claude Code's built-in tools all start
  // with a capital.
  if (/^[a-z]/.test(name)) {
    if (specifier === undefined) return { key: name };
    if (ACTION_ONLY.has(name)) return { key: name, inexact: `OpenCode's ${name} takes no pattern` };
    return { key: name, patterns: [specifier] };
  }
  const key = OPENCODE_PERMISSION_OF[name];
  if (key === undefined) return { inexact: `OpenCode has no counterpart to Claude Code's ${name}` };
  if (specifier === undefined) return { key };
  if (key !== 'bash') {
    return { key, inexact: `OpenCode cannot express ${JSON.stringify(entry)} (only Bash takes a pattern)` };
  }
  // Claude Code's `prefix:*` matches the prefix alone and the prefix followed by arguments.
  const prefix = /^(.*):\*$/s.exec(specifier)?.[1];
  return { key, patterns: prefix === undefined ? [specifier] : [prefix, `${prefix} *`] };
}

/** The permission configuration and the notes about entries that did not map exactly. */
export interface OpencodeTools {
  /** Undefined when the policy sets no tool list. */
  permission?: OpencodePermission;
  notes: string[];
}

/**
 * OpenCode's permission configuration for the policy's lists.
 *
 * @param allowed The allow list; undefined means none (every tool may run).
 * @param denied The deny list.
 */
export function opencodeTools(
  allowed: readonly string[] | undefined,
  denied: readonly string[] = [],
): OpencodeTools {
  if (allowed === undefined && denied.length === 0) return { notes: [] };
  const permission: OpencodePermission = {};
  const notes: string[] = [];
  const set = (key: string, pattern: string, action: Action) => {
    permission[key] = { ...permission[key], [pattern]: action };
  };
  if (allowed !== undefined) {
    set('*', '*', 'deny');
    for (const key of READ_ONLY) set(key, '*', 'allow');
    for (const entry of allowed) {
      const { key, patterns, inexact } = translate(entry);
      if (inexact !== undefined || key === undefined) {
        notes.push(
          `tools.allowed ${JSON.stringify(entry)}: ${inexact ?? 'not mapped'}; OpenCode does not allow it`,
        );
        continue;
      }
      for (const pattern of patterns ?? ['*']) set(key, pattern, 'allow');
    }
  }
  for (const entry of denied) {
    const { key, patterns, inexact } = translate(entry);
    if (key === undefined) {
      notes.push(
        `tools.denied ${JSON.stringify(entry)}: ${inexact ?? 'not mapped'}; nothing to deny in OpenCode`,
      );
      continue;
    }
    if (inexact !== undefined)
      notes.push(`tools.denied ${JSON.stringify(entry)}: ${inexact}; OpenCode denies ${key} altogether`);
    for (const pattern of inexact === undefined ? (patterns ?? ['*']) : ['*']) set(key, pattern, 'deny');
  }
  return { permission, notes };
}
