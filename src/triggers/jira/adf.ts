/**
 * Atlassian Document Format (ADF), the JSON rich text of Jira Cloud's v3 API, both ways: a ticket's
 * description becomes plain text (light Markdown: headings, lists, code, links kept) for the
 * agent's prompt, and a comment Shepherd writes becomes an ADF document, since the v3 comment
 * endpoint takes nothing else. Pure.
 */

/** An ADF node as Jira sends it; only the parts read here are typed. */
export interface AdfNode {
  type: string;
  text?: string;
  content?: AdfNode[];
  attrs?: Record<string, unknown>;
  marks?: Array<{ type: string; attrs?: Record<string, unknown> }>;
}

/** An ADF document. */
export interface AdfDocument {
  [key: string]: unknown;
  type: 'doc';
  version: 1;
  content: AdfNode[];
}

/** Deeper nesting than this is not rendered: no real ticket nests that deep, a hostile one might. */
const MAX_DEPTH = 32;

function attr(node: AdfNode, name: string): string | undefined {
  const value = node.attrs?.[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** The text of inline content: text with its links, mentions, emoji, cards, breaks. */
function inline(nodes: AdfNode[] | undefined, depth: number): string {
  if (!nodes || depth > MAX_DEPTH) return '';
  return nodes
    .map((node) => {
      switch (node.type) {
        case 'text': {
          const text = node.text ?? '';
          const link = node.marks?.find((m) => m.type === 'link')?.attrs?.href;
          const code = node.marks?.some((m) => m.type === 'code');
          const shown = code ? `\`${text}\`` : text;
          return typeof link === 'string' && link !== text ? `${shown} (${link})` : shown;
        }
        case 'hardBreak':
          return '\n';
        case 'mention':
          return attr(node, 'text') ?? `@${attr(node, 'id') ?? 'someone'}`;
        case 'emoji':
          return attr(node, 'text') ?? attr(node, 'shortName') ?? '';
        case 'inlineCard':
        case 'blockCard':
        case 'embedCard':
          return attr(node, 'url') ?? '';
        case 'status':
          return `[${attr(node, 'text') ?? ''}]`;
        case 'date': {
          const ms = Number(attr(node, 'timestamp'));
          return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : '';
        }
        default:
          return node.content ? inline(node.content, depth + 1) : (node.text ?? '');
      }
    })
    .join('');
}

function indent(text: string, prefix: string, rest = ' '.repeat(prefix.length)): string {
  return text
    .split('\n')
    .map((line, i) => (i === 0 ? prefix : line ? rest : '') + line)
    .join('\n');
}

/** The text of block content, blocks separated by blank lines. */
function blocks(nodes: AdfNode[] | undefined, depth: number): string {
  if (!nodes || depth > MAX_DEPTH) return '';
  return nodes
    .map((node) => block(node, depth))
    .filter((text) => text.trim() !== '')
    .join('\n\n');
}

function block(node: AdfNode, depth: number): string {
  switch (node.type) {
    case 'paragraph':
      return inline(node.content, depth + 1);
    case 'heading': {
      const level = Math.min(Math.max(Number(attr(node, 'level') ?? 1), 1), 6);
      return `${'#'.repeat(level)} ${inline(node.content, depth + 1)}`;
    }
    case 'bulletList':
    case 'orderedList':
    case 'taskList':
    case 'decisionList': {
      const start = Number(attr(node, 'order') ?? 1);
      return (node.content ?? [])
        .map((item, i) => {
          const marker =
            node.type === 'orderedList'
              ? `${(Number.isFinite(start) ? start : 1) + i}. `
              : node.type === 'taskList'
                ? attr(item, 'state') === 'DONE'
                  ? '- [x] '
                  : '- [ ] '
                : '- ';
          // Task and decision items hold inline content; list items hold blocks.
          const body =
            item.type === 'taskItem' || item.type === 'decisionItem'
              ? inline(item.content, depth + 2)
              : blocks(item.content, depth + 2).replace(/\n\n/g, '\n');
          return indent(body, marker);
        })
        .join('\n');
    }
    case 'codeBlock': {
      const language = attr(node, 'language') ?? '';
      return `\`\`\`${language}\n${inline(node.content, depth + 1)}\n\`\`\``;
    }
    case 'blockquote':
      return indent(blocks(node.content, depth + 1), '> ', '> ');
    case 'rule':
      return '---';
    case 'table':
      return (node.content ?? [])
        .map((row) =>
          (row.content ?? [])
            .map((cell) => blocks(cell.content, depth + 3).replace(/\s*\n\s*/g, ' '))
            .join(' | '),
        )
        .map((line) => `| ${line} |`)
        .join('\n');
    case 'mediaSingle':
    case 'mediaGroup':
    case 'media':
      // Attachments are not reachable from the prompt; say that there was one.
      return '(attachment)';
    default:
      // panel, expand, layoutSection, … : their content, as blocks.
      if (node.content) {
        const title = attr(node, 'title');
        const inner = blocks(node.content, depth + 1);
        return title ? `${title}\n\n${inner}` : inner;
      }
      return inline([node], depth + 1);
  }
}

/**
 * The plain text of a description: an ADF document (Jira Cloud v3), a string (Jira Server and the
 * v2 API send wiki markup as is), or nothing.
 */
export function adfToText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value !== 'object') return '';
  const node = value as AdfNode;
  if (node.type === 'doc') return blocks(node.content, 0).trim();
  return block(node, 0).trim();
}

const URL_PATTERN = /https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/g;

/** A line as inline ADF: text nodes, with every http(s) URL a link. */
function lineNodes(line: string): AdfNode[] {
  const nodes: AdfNode[] = [];
  let last = 0;
  for (const match of line.matchAll(URL_PATTERN)) {
    const index = match.index;
    if (index > last) nodes.push({ type: 'text', text: line.slice(last, index) });
    nodes.push({ type: 'text', text: match[0], marks: [{ type: 'link', attrs: { href: match[0] } }] });
    last = index + match[0].length;
  }
  if (last < line.length) nodes.push({ type: 'text', text: line.slice(last) });
  return nodes;
}

/**
 * Plain text as an ADF document: a paragraph per blank-line separated block, lines within it
 * joined by hard breaks, URLs as links. ADF refuses empty text nodes, so none is made.
 */
export function textToAdf(text: string): AdfDocument {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.replace(/^\n+|\n+$/g, ''))
    .filter((p) => p.trim() !== '');
  return {
    type: 'doc',
    version: 1,
    content: paragraphs.map((paragraph) => ({
      type: 'paragraph',
      content: paragraph
        .split('\n')
        .flatMap((line, i) => [...(i > 0 ? [{ type: 'hardBreak' }] : []), ...lineNodes(line)]),
    })),
  };
}
