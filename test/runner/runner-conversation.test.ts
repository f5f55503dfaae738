/**
 * A runner's turn of a conversation with the command agent and real git: the agent is told its
 * turn and given that turn's prompt, and asks a question by writing it into SHEPHERD_QUESTION_FILE;
 * the runner pushes the work so far, exits 0 and returns the question. A question is a turn's own:
 * one left from an earlier turn is never taken again, a failed turn asks nothing, and the file is
 * never committed.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GitSandbox, repo } from './support/git-sandbox.js';

const sandbox = new GitSandbox();
after(() => sandbox.remove());

const command = (script: string) => ({
  SHEPHERD_AGENT: 'command',
  SHEPHERD_COMMAND: JSON.stringify(['sh', '-c', script]),
});

describe('a turn of the command agent', () => {
  it('asks a question through SHEPHERD_QUESTION_FILE: its work is pushed, the result carries the question', async () => {
    const url = sandbox.bareRepo('question');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const run = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        ...command(
          'echo "turn $SHEPHERD_TURN: $INITIAL_PROMPT" > NOTES.md; printf "Which of the two\\nflows stays?\\n" > "$SHEPHERD_QUESTION_FILE"; echo "drafted NOTES.md"',
        ),
        INITIAL_PROMPT: 'Also drop the old flow',
        SHEPHERD_TURN: '2',
      }),
    );

    assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    assert.equal(run.result?.question, 'Which of the two\nflows stays?');
    assert.equal(run.result?.summary, 'drafted NOTES.md');
    assert.equal(
      sandbox.remoteFile(url, 'shepherd/fix-readme', 'NOTES.md'),
      'turn 2: Also drop the old flow',
    );
    assert.deepEqual(sandbox.remoteLog(url, 'shepherd/fix-readme'), [
      'session fix-readme (turn 2, attempt 1): changes the agent left uncommitted',
      'first',
    ]);
    assert.match(run.stdout, /command asked a question: Which of the two/);
  });

  it('takes no question an earlier turn left, and none from a turn that failed', async () => {
    const url = sandbox.bareRepo('stale-question');
    const { workspace, runnerRepos } = await sandbox.workspace([repo(url)]);
    const asked = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, command('echo "Which one?" > "$SHEPHERD_QUESTION_FILE"')),
    );
    assert.equal(asked.result?.question, 'Which one?');

    const answered = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        ...command('test ! -e "$SHEPHERD_QUESTION_FILE" && echo "the first one, then" > ANSWER.md'),
        INITIAL_PROMPT: 'The first one',
        SHEPHERD_TURN: '2',
      }),
    );
    assert.equal(answered.exitCode, 0, `${answered.stdout}\n${answered.stderr}`);
    assert.equal(
      answered.result?.question,
      undefined,
      'the earlier question was cleared before the agent ran',
    );
    assert.equal(sandbox.remoteFile(url, 'shepherd/fix-readme', 'ANSWER.md'), 'the first one, then');

    const failed = await sandbox.runRunner(
      sandbox.runnerEnv(workspace, runnerRepos, {
        ...command('echo "What now?" > "$SHEPHERD_QUESTION_FILE"; exit 3'),
        SHEPHERD_TURN: '3',
      }),
    );
    assert.equal(failed.exitCode, 1);
    assert.equal(failed.result?.question, undefined, 'a failed turn is retried, not waited on');

    const tree = sandbox.git(url, 'ls-tree', '-r', '--name-only', 'shepherd/fix-readme');
    assert.doesNotMatch(tree, /question|\.shepherd/, 'the question file is never committed');
  });
});
