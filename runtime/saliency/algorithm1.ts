// Algorithm 1 of Xu et al. (seed 004, §2.1): pseudo-labels from class attention maps (Grad-CAM,
// max-normalised) and a class-agnostic saliency map S, for the image's classes C:
//
//   M(c, i, j) = (A^c(i, j) + S(i, j)) / 2          for c in C
//   G(i, j) = 0 (background)   if M(c*, i, j) < γ1 or S(i, j) < γ2
//           = c* + 1           otherwise,  c* = argmax_c M(c, i, j)
//
// The paper's condition names M(c, i, j) without saying which c; since S is the same for every
// class, M(c) < γ1 for the winning class c* means it holds for every class, and that is the
// reading used here. Exact comparisons as written: M = γ1 or S = γ2 is foreground. Ties between
// classes go to the first class of C (ascending class index), as argmax does elsewhere
// (runtime/cam/multiscale.ts). Classes not in C are never labelled; an empty C is all background.
// Isomorphic: plain arrays in and out, used by `wsss pseudo-label --fuse-saliency` and the web demo.

/** The paper's thresholds (§3, "Training/Testing Settings"). */
export const ALGORITHM1_DEFAULTS = { gamma1: 0.2, gamma2: 0.06 } as const;

export interface Algorithm1Options {
  gamma1: number;
  gamma2: number;
}

/**
 * Label map [H·W] (0 = background, c + 1 = class c) from attention maps [classes, H·W] (each in
 * [0, 1]), the image's classes (0-based; every class when undefined) and saliency [H·W] in [0, 1].
 */
export function algorithm1Labels(attention: Float32Array, classes: number, saliency: Float32Array, keep: readonly number[] | undefined, o: Algorithm1Options = ALGORITHM1_DEFAULTS): Uint8Array {
  const hw = saliency.length;
  if (attention.length !== classes * hw) throw new Error(`algorithm1Labels: ${attention.length} attention values for ${classes} classes of ${hw} pixels`);
  const keys = [...(keep ?? Array.from({ length: classes }, (_, c) => c))].sort((a, b) => a - b);
  for (const c of keys) if (!Number.isInteger(c) || c < 0 || c >= classes) throw new Error(`algorithm1Labels: class ${c} is not one of the ${classes} classes`);
  const out = new Uint8Array(hw);
  for (let p = 0; p < hw; p++) {
    const s = saliency[p];
    if (!(s >= o.gamma2) || keys.length === 0) continue; // S < γ2 (or NaN): background
    let best = -Infinity;
    let label = 0;
    for (const c of keys) {
      const m = (attention[c * hw + p] + s) / 2;
      if (m > best) {
        best = m;
        label = c + 1;
      }
    }
    out[p] = best >= o.gamma1 ? label : 0;
  }
  return out;
}
