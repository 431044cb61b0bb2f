// Average precision against hand-computed rankings (scikit-learn's non-interpolated definition).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePrecision } from '../../runtime/metrics/average-precision.ts';

test('average precision of hand-worked rankings', () => {
  // Ranked: +, −, +, −  → precision at the two positives 1 and 2/3 → AP = (1 + 2/3) / 2.
  assert.ok(Math.abs(averagePrecision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) - 5 / 6) < 1e-12);
  // Perfect ranking, and the worst one: positives last of 4 → (1/3 + 2/4) / 2.
  assert.equal(averagePrecision([3, 2, 1, 0], [1, 1, 0, 0]), 1);
  assert.ok(Math.abs(averagePrecision([3, 2, 1, 0], [0, 0, 1, 1]) - (1 / 3 + 2 / 4) / 2) < 1e-12);
  // Ties form one threshold: all scores equal → AP = the share of positives (a random ranking's value).
  assert.ok(Math.abs(averagePrecision([5, 5, 5, 5, 5], [1, 0, 0, 1, 0]) - 0.4) < 1e-12);
  // The order of tied items does not matter.
  assert.equal(averagePrecision([1, 0.5, 0.5, 0], [0, 1, 0, 1]), averagePrecision([1, 0.5, 0.5, 0], [0, 0, 1, 1]));
  assert.ok(Number.isNaN(averagePrecision([1, 2], [0, 0])));
  assert.throws(() => averagePrecision([1, 2], [1]), /2 scores but 1 labels/);
});
