// Average precision of a ranking: the area under the precision–recall curve as the sum over
// the distinct score thresholds of (recall step) × (precision there) — the non-interpolated
// definition of scikit-learn's average_precision_score. Tied scores form one threshold, so the
// result does not depend on the order of equal scores.

/** AP of `scores` against binary `positives` (1 = positive). NaN when there is no positive. */
export function averagePrecision(scores: ArrayLike<number>, positives: ArrayLike<number>): number {
  const n = scores.length;
  if (positives.length !== n) throw new Error(`averagePrecision: ${n} scores but ${positives.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let totalPositives = 0;
  for (let i = 0; i < n; i++) if (positives[i]) totalPositives++;
  if (!totalPositives) return NaN;
  let ap = 0;
  let truePositives = 0;
  let seen = 0;
  let lastRecall = 0;
  for (let k = 0; k < n; ) {
    // Take every item tied with the current score as one threshold.
    const s = scores[order[k]];
    while (k < n && scores[order[k]] === s) {
      if (positives[order[k]]) truePositives++;
      seen++;
      k++;
    }
    const recall = truePositives / totalPositives;
    ap += (recall - lastRecall) * (truePositives / seen);
    lastRecall = recall;
  }
  return ap;
}
