// The "saliency alone" baseline of the benchmark (issue 17): the salient region (S ≥ threshold)
// gets the image's label, everything else is background. Saliency is class-agnostic, so an
// image with several classes cannot be split by it: its salient pixels all get the first
// (lowest-index) of its classes — the baseline's known limit, which fusing with class attention
// (./algorithm1.ts) removes. Isomorphic.

/** The usual binarisation of a [0, 1] saliency map. */
export const DEFAULT_SALIENCY_THRESHOLD = 0.5;

/** Label map [H·W] from saliency [H·W] in [0, 1] and the image's 0-based classes. */
export function saliencyOnlyLabels(saliency: Float32Array, keep: readonly number[], threshold = DEFAULT_SALIENCY_THRESHOLD): Uint8Array {
  const out = new Uint8Array(saliency.length);
  if (!keep.length) return out;
  const label = Math.min(...keep) + 1;
  for (let p = 0; p < saliency.length; p++) if (saliency[p] >= threshold) out[p] = label;
  return out;
}
