/**
 * The runner's side of a conversation, in pieces: how a final message's question is found, the
 * question file an agent writes, the conversation id kept between turns and how the next turn
 * resumes it, and what Claude Code's and OpenCode's output say about both.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ClaudeStream } from '../../src/runner/agents/claude-stream.js';
import { OpencodeStream } from '../../src/runner/agents/opencode-stream.js';
import {
  conversationFilePath,
  planResume,
  questionFilePath,
  saveConversation,
} from '../../src/runner/conversation.js';
import { clearQuestionFile, readQuestionFile, splitQuestion } from '../../src/runner/question.js';

const root = mkdtempSync(join(tmpdir(), 'shepherd-conversation-'));
after(() => rmSync(root, { recursive: true, force: true }));
let workspaces = 0;
function workspace(): string {
  const dir = join(root, `workspace-${++workspaces}`);
  mkdirSync(dir);
  return dir;
}

describe('a question at the end of a final message', () => {
  it('is the last paragraph beginning QUESTION:, all of it; what came before is the summary', () => {
    assert.deepEqual(
      splitQuestion(
        'I looked at both flows.\n\nQUESTION: Keep the old checkout?\nIt is still used by the app.',
      ),
      {
        summary: 'I looked at both flows.',
        question: 'Keep the old checkout?\nIt is still used by the app.',
      },
    );
    assert.deepEqual(splitQuestion('**QUESTION:** Which branch?'), {
      summary: undefined,
      question: 'Which branch?',
    });
    assert.deepEqual(splitQuestion('QUESTION: first?\nQUESTION: second?'), {
      summary: 'QUESTION: first?',
      question: 'second?',
    });
  });

  it('is not there when no line begins with the marker, or the marker asks nothing', () => {
    assert.deepEqual(splitQuestion('Fixed it. No QUESTION: remains.'), {
      summary: 'Fixed it. No QUESTION: remains.',
      question: undefined,
    });
    assert.deepEqual(splitQuestion('Done.\nQUESTION:   '), {
      summary: 'Done.\nQUESTION:',
      question: undefined,
    });
  });
});

describe('the question file', () => {
  it('is cleared before the agent starts, whatever an earlier turn left there, and read back trimmed', () => {
    const file = questionFilePath(workspace());
    clearQuestionFile(file);
    assert.equal(readQuestionFile(file), undefined, 'no question when the agent wrote none');
    writeFileSync(file, '\n  Which database?  \n');
    assert.equal(readQuestionFile(file), 'Which database?');
    clearQuestionFile(file);
    assert.equal(readQuestionFile(file), undefined);
    mkdirSync(file);
    clearQuestionFile(file);
    assert.equal(readQuestionFile(file), undefined, 'a directory in its place is removed too');
  });

  it('counts only as a regular file with text: an empty file or a symlink asks nothing', () => {
    const dir = workspace();
    const file = questionFilePath(dir);
    clearQuestionFile(file);
    writeFileSync(file, '   \n');
    assert.equal(readQuestionFile(file), undefined);
    rmSync(file);
    writeFileSync(join(dir, 'elsewhere'), 'a question from elsewhere');
    symlinkSync(join(dir, 'elsewhere'), file);
    assert.equal(readQuestionFile(file), undefined);
  });
});

describe('resuming the agent’s conversation', () => {
  it('turn 1 begins a new conversation; the next turn resumes the id the turn before saved', () => {
    const dir = workspace();
    assert.deepEqual(planResume(dir, 'claude', 1), { resume: { kind: 'new' } });
    assert.equal(saveConversation(dir, 'claude', '5c920979-a01e-4c6e-a79d-9e5f6b63fb1e'), undefined);
    assert.deepEqual(planResume(dir, 'claude', 2), {
      resume: { kind: 'id', id: '5c920979-a01e-4c6e-a79d-9e5f6b63fb1e' },
    });
    assert.deepEqual(
      planResume(dir, 'claude', 1),
      { resume: { kind: 'new' } },
      'a retried turn 1 begins anew',
    );
    assert.equal(planResume(dir, 'opencode', 2).resume.kind, 'latest', 'each agent has its own');
  });

  it('without a usable saved id, continues the agent’s most recent conversation and says why', () => {
    const dir = workspace();
    const missing = planResume(dir, 'claude', 2);
    assert.deepEqual(missing.resume, { kind: 'latest' });
    assert.match(
      missing.warning ?? '',
      /turn 2: no saved claude conversation to resume \(.*does not exist\)/,
    );
    mkdirSync(join(dir, '.shepherd'));
    for (const text of ['{not json', '{"id":"--help"}', '{"id":42}', 'null']) {
      writeFileSync(conversationFilePath(dir, 'claude'), text);
      const plan = planResume(dir, 'claude', 3);
      assert.deepEqual(plan.resume, { kind: 'latest' }, text);
      assert.match(plan.warning ?? '', /holds no valid conversation id/, text);
    }
  });

  it('never keeps an id that could pass for an option of the agent’s command line', () => {
    const dir = workspace();
    assert.match(saveConversation(dir, 'opencode', '-s') ?? '', /does not keep/);
    assert.equal(planResume(dir, 'opencode', 2).resume.kind, 'latest');
  });
});

describe('what the agents report about the conversation', () => {
  it('Claude Code: the id of its init event, and the question its final message ends with', () => {
    const stream = new ClaudeStream();
    for (const event of [
      { type: 'system', subtype: 'init', session_id: 'a76e8f4c-59ee-4222-bdb3-153e79df611d', model: 'm' },
      { type: 'result', subtype: 'success', result: 'Read the code.\n\nQUESTION: Keep the cache?' },
    ])
      stream.line(JSON.stringify(event));
    assert.equal(stream.conversationId, 'a76e8f4c-59ee-4222-bdb3-153e79df611d');
    assert.equal(stream.summary, 'Read the code.');
    assert.equal(stream.question, 'Keep the cache?');
  });

  it('OpenCode: the session of its first step', () => {
    const stream = new OpencodeStream();
    stream.line(
      JSON.stringify({ type: 'step_start', sessionID: 'ses_dca2f1dacffeDksBPIc2NRzOP6', part: {} }),
    );
    stream.line(JSON.stringify({ type: 'step_start', sessionID: 'ses_other', part: {} }));
    assert.equal(stream.conversationId, 'ses_dca2f1dacffeDksBPIc2NRzOP6');
  });
});
