/**
 * Resource quantities compared exactly, as the API server's CEL quantity library does, so the
 * API refuses requests above limits exactly where `kubectl apply` would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQuantity, quantityGreaterThan } from '../../src/resources/quantity.js';

test('equal quantities in different units are not greater', () => {
  for (const [a, b] of [
    ['1Gi', '1073741824'],
    ['0.5', '500m'],
    ['1', 1],
    ['1k', '1000'],
    ['1.5Gi', '1536Mi'],
  ] as const) {
    assert.equal(quantityGreaterThan(a, b), false, `${a} > ${b}`);
    assert.equal(quantityGreaterThan(b, a), false, `${b} > ${a}`);
  }
});

test('a larger quantity is greater, across suffixes', () => {
  for (const [a, b] of [
    ['1500m', 1],
    ['2Gi', '1Gi'],
    ['1Gi', '1G'],
    ['1001m', '1'],
    ['1Ei', '1E'],
  ] as const) {
    assert.equal(quantityGreaterThan(a, b), true, `${a} > ${b}`);
    assert.equal(quantityGreaterThan(b, a), false, `${b} > ${a}`);
  }
});

test('what is not a quantity is not parsed, and compares as not greater', () => {
  for (const bad of ['4 GiB', '', '1.', '-1', '1e3', 'Gi', -1, 1.5, null]) {
    assert.equal(parseQuantity(bad), undefined, String(bad));
  }
  assert.equal(quantityGreaterThan('4 GiB', '1'), false);
});
