// Unary energies of the dense CRF, as pydensecrf's utilities make them (the WSSS repositories call
// these): from a probability map, U = −log(clip(p, 1e−5, 1)); from a label map, −log(gt_prob) for
// the pixel's label and −log((1 − gt_prob)/(C − 1)) for each other label.

/** Smallest probability before the log (pydensecrf's unary_from_softmax clip). */
export const PROB_FLOOR = 1e-5;

/** Energies float [C][N] from probabilities float [C][N]; throws on NaN naming the first such pixel. */
export function unaryFromProbabilities(probs: Float32Array, labels: number, source = 'probabilities'): Float32Array {
  const n = probs.length / labels;
  const out = new Float32Array(probs.length);
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (Number.isNaN(p)) throw new Error(`${source}: NaN probability at label ${Math.floor(i / n)}, pixel ${i % n}`);
    out[i] = -Math.log(p < PROB_FLOOR ? PROB_FLOOR : p > 1 ? 1 : p);
  }
  return out;
}

/** Energies float [C][N] from a label per pixel (0..C−1). */
export function unaryFromLabels(labelMap: ArrayLike<number>, labels: number, gtProb: number, source = 'labels'): Float32Array {
  if (labels < 2) throw new Error(`${source}: label unaries need at least 2 labels, got ${labels}`);
  if (!(gtProb > 0 && gtProb < 1)) throw new Error(`${source}: gt_prob must be in (0, 1), got ${gtProb}`);
  const n = labelMap.length;
  const positive = -Math.log(gtProb);
  const negative = -Math.log((1 - gtProb) / (labels - 1));
  const out = new Float32Array(labels * n).fill(negative);
  for (let i = 0; i < n; i++) {
    const l = labelMap[i];
    if (!(Number.isInteger(l) && l >= 0 && l < labels)) throw new Error(`${source}: pixel ${i} has label ${l}, outside 0..${labels - 1}`);
    out[l * n + i] = positive;
  }
  return out;
}

/** Argmax over labels of a [C][N] map (first maximum wins, as numpy's argmax). */
export function argmaxLabels(maps: Float32Array, labels: number): Uint8Array {
  const n = maps.length / labels;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestV = maps[i];
    for (let c = 1; c < labels; c++) {
      const v = maps[c * n + i];
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}
