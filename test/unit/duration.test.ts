/** Durations in spec.timeout parse the way a Go user expects, and bad ones say which field to fix. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../src/session/duration.js';
import { InvalidSpecError } from '../../src/session/errors.js';

describe('parseDuration', () => {
  it('reads hours, minutes, seconds and milliseconds, alone or combined', () => {
    assert.equal(parseDuration('1h30m', 'spec.timeout'), 5_400_000);
    assert.equal(parseDuration('90s', 'spec.timeout'), 90_000);
    assert.equal(parseDuration('500ms', 'spec.timeout'), 500);
    assert.equal(parseDuration('1.5h', 'spec.timeout'), 5_400_000);
    assert.equal(parseDuration('2h0m30s', 'spec.timeout'), 7_230_000);
  });

  for (const bad of ['', '10', '1d', '1 h', 'h', '-5m', '1h-30m', '1.5']) {
    it(`refuses "${bad}" with an error naming the field`, () => {
      assert.throws(
        () => parseDuration(bad, 'spec.timeout'),
        (error: unknown) =>
          error instanceof InvalidSpecError &&
          error.field === 'spec.timeout' &&
          /spec\.timeout .* not a duration/.test(error.message),
      );
    });
  }

  it('refuses a zero timeout, which would end every attempt at once', () => {
    assert.throws(
      () => parseDuration('0s', 'AgentConfig spec.defaultTimeout'),
      /AgentConfig spec\.defaultTimeout "0s" must be longer than zero/,
    );
  });
});

describe('formatDuration', () => {
  it('writes what parseDuration reads back', () => {
    for (const ms of [500, 90_000, 5_400_000, 3_661_001]) {
      assert.equal(parseDuration(formatDuration(ms), 'x'), ms);
    }
    assert.equal(formatDuration(5_400_000), '1h30m');
  });
});
