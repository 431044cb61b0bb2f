// Sinusoidal positional encoding of CMA's tokens (SPEC.md §3.3, step 3), built for the feature
// map at hand: pe[p, 2k] = sin(p·10000^(−2k/d)), pe[p, 2k+1] = cos(p·10000^(−2k/d)), p = y·w + x.
// The official table has exactly 46×46 rows and is added unsliced, so the authors' code only
// runs on 368-px crops at stride 8; this one is computed for any h·w (the rows the official
// table has are the same numbers).

/** [positions, d] row-major, float32. */
export function sinusoidalTable(positions: number, d: number): Float32Array {
  const out = new Float32Array(positions * d);
  for (let k = 0; 2 * k < d; k++) {
    const rate = Math.exp(2 * k * -(Math.log(10000) / d));
    for (let p = 0; p < positions; p++) {
      out[p * d + 2 * k] = Math.sin(p * rate);
      if (2 * k + 1 < d) out[p * d + 2 * k + 1] = Math.cos(p * rate);
    }
  }
  return out;
}
