/**
 * The condition helper behaves like apimachinery's SetStatusCondition, so `kubectl describe` shows
 * when a condition really changed and the workflow writes status only when something did.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConditionType,
  MAX_CONDITION_MESSAGE_LENGTH,
  Reason,
  findStatusCondition,
  formatTime,
  isStatusConditionTrue,
  removeStatusCondition,
  setStatusCondition,
} from '../../src/resources/conditions.js';
import type { Condition } from '../../src/resources/types.js';

const t0 = new Date('2025-01-02T03:04:05.678Z');
const t1 = new Date('2025-01-02T03:09:00.000Z');

describe('setStatusCondition', () => {
  it('adds a new condition stamped with the injected clock, at second precision', () => {
    const result = setStatusCondition(
      undefined,
      {
        type: ConditionType.PVCReady,
        status: 'True',
        reason: Reason.Bound,
        message: 'bound',
        observedGeneration: 2,
      },
      t0,
    );
    assert.equal(result.changed, true);
    assert.deepEqual(result.conditions, [
      {
        type: 'PVCReady',
        status: 'True',
        observedGeneration: 2,
        lastTransitionTime: '2025-01-02T03:04:05Z',
        reason: 'Bound',
        message: 'bound',
      },
    ]);
  });

  it('lastTransitionTime is unchanged when only the message changes', () => {
    const first = setStatusCondition(
      [],
      { type: 'Ready', status: 'True', reason: Reason.Progressing, message: 'provisioning' },
      t0,
    );
    const second = setStatusCondition(
      first.conditions,
      { type: 'Ready', status: 'True', reason: Reason.Progressing, message: 'running attempt 1' },
      t1,
    );
    assert.equal(second.changed, true);
    assert.equal(second.conditions[0]?.message, 'running attempt 1');
    assert.equal(second.conditions[0]?.lastTransitionTime, formatTime(t0));
  });

  it('lastTransitionTime moves when the status flips', () => {
    const first = setStatusCondition(
      [],
      { type: 'Ready', status: 'True', reason: Reason.Progressing, message: '' },
      t0,
    );
    const second = setStatusCondition(
      first.conditions,
      { type: 'Ready', status: 'False', reason: Reason.RunnerExit, message: 'exit 1' },
      t1,
    );
    assert.equal(second.conditions[0]?.lastTransitionTime, '2025-01-02T03:09:00Z');
    assert.equal(second.conditions[0]?.reason, 'RunnerExit');
  });

  it('setting the same condition again reports no change, so status is not rewritten', () => {
    const input = {
      type: 'Validated',
      status: 'True',
      reason: Reason.Resolved,
      message: 'ok',
      observedGeneration: 1,
    } as const;
    const first = setStatusCondition([], input, t0);
    const again = setStatusCondition(first.conditions, input, t1);
    assert.equal(again.changed, false);
    assert.deepEqual(again.conditions, first.conditions);
  });

  it('a new observedGeneration alone is a change', () => {
    const first = setStatusCondition(
      [],
      { type: 'Validated', status: 'True', reason: Reason.Resolved, message: 'ok', observedGeneration: 1 },
      t0,
    );
    const next = setStatusCondition(
      first.conditions,
      { type: 'Validated', status: 'True', reason: Reason.Resolved, message: 'ok', observedGeneration: 2 },
      t1,
    );
    assert.equal(next.changed, true);
    assert.equal(next.conditions[0]?.observedGeneration, 2);
    assert.equal(next.conditions[0]?.lastTransitionTime, formatTime(t0));
  });

  it('never mutates the list it was given and keeps the order of the other conditions', () => {
    const start: Condition[] = [
      {
        type: 'Validated',
        status: 'True',
        lastTransitionTime: '2025-01-01T00:00:00Z',
        reason: 'Resolved',
        message: '',
      },
      {
        type: 'PVCReady',
        status: 'False',
        lastTransitionTime: '2025-01-01T00:00:00Z',
        reason: 'Pending',
        message: '',
      },
      {
        type: 'JobCreated',
        status: 'True',
        lastTransitionTime: '2025-01-01T00:00:00Z',
        reason: 'Created',
        message: '',
      },
    ];
    const snapshot = structuredClone(start);
    const result = setStatusCondition(
      start,
      { type: 'PVCReady', status: 'True', reason: Reason.Bound, message: '' },
      t1,
    );
    assert.deepEqual(start, snapshot);
    assert.deepEqual(
      result.conditions.map((c) => [c.type, c.status]),
      [
        ['Validated', 'True'],
        ['PVCReady', 'True'],
        ['JobCreated', 'True'],
      ],
    );
  });

  it('caps a huge message (a whole log dump) at the 32 KiB the CRD accepts', () => {
    const result = setStatusCondition(
      [],
      { type: 'Failed', status: 'True', reason: Reason.RunnerExit, message: 'x'.repeat(100_000) },
      t0,
    );
    assert.equal(result.conditions[0]?.message.length, MAX_CONDITION_MESSAGE_LENGTH);
  });

  it('does not split an emoji when capping', () => {
    const message = `${'x'.repeat(MAX_CONDITION_MESSAGE_LENGTH - 1)}🙂tail`;
    const capped =
      setStatusCondition([], { type: 'Failed', status: 'True', reason: Reason.RunnerExit, message }, t0)
        .conditions[0]?.message ?? '';
    assert.equal(capped, 'x'.repeat(MAX_CONDITION_MESSAGE_LENGTH - 1));
  });
});

describe('condition lookups', () => {
  const conditions: Condition[] = [
    {
      type: 'Completed',
      status: 'True',
      lastTransitionTime: '2025-01-01T00:00:00Z',
      reason: 'Succeeded',
      message: '',
    },
  ];

  it('find and isTrue read a condition by type', () => {
    assert.equal(findStatusCondition(conditions, 'Completed')?.reason, 'Succeeded');
    assert.equal(isStatusConditionTrue(conditions, 'Completed'), true);
    assert.equal(isStatusConditionTrue(conditions, 'Failed'), false);
    assert.equal(isStatusConditionTrue(undefined, 'Failed'), false);
  });

  it('remove reports whether the condition was there', () => {
    assert.deepEqual(removeStatusCondition(conditions, 'Completed'), { conditions: [], changed: true });
    assert.equal(removeStatusCondition(conditions, 'Failed').changed, false);
  });
});

describe('reason constants', () => {
  it('every reason matches the CRD reason pattern', () => {
    for (const reason of Object.values(Reason)) {
      assert.match(reason, /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/);
    }
  });
});
