// Resizing of float maps [C, H, W] (row-major) in plain TypeScript, with PyTorch's semantics:
// bilinear with align_corners true ("AC") or false ("HP": half-pixel centres, source
// coordinate clamped at 0), no antialiasing. Used by CAM aggregation on any runtime.

/** Source index pair and weight along one axis for every output position. */
function axisTaps(inLen: number, outLen: number, alignCorners: boolean): { i0: Int32Array; i1: Int32Array; w1: Float32Array } {
  const i0 = new Int32Array(outLen);
  const i1 = new Int32Array(outLen);
  const w1 = new Float32Array(outLen);
  for (let o = 0; o < outLen; o++) {
    let src: number;
    if (alignCorners) src = outLen > 1 ? (o * (inLen - 1)) / (outLen - 1) : 0;
    else src = Math.max(0, ((o + 0.5) * inLen) / outLen - 0.5);
    const lo = Math.min(Math.floor(src), inLen - 1);
    const hi = Math.min(lo + 1, inLen - 1);
    i0[o] = lo;
    i1[o] = hi;
    w1[o] = src - lo;
  }
  return { i0, i1, w1 };
}

/** Bilinear resize of `channels` planes of size h×w to oh×ow. */
export function resizeBilinearCHW(src: Float32Array, channels: number, h: number, w: number, oh: number, ow: number, alignCorners: boolean): Float32Array {
  const out = new Float32Array(channels * oh * ow);
  if (h === oh && w === ow) {
    out.set(src.subarray(0, channels * h * w));
    return out;
  }
  const ys = axisTaps(h, oh, alignCorners);
  const xs = axisTaps(w, ow, alignCorners);
  for (let c = 0; c < channels; c++) {
    const plane = c * h * w;
    const oplane = c * oh * ow;
    for (let y = 0; y < oh; y++) {
      const r0 = plane + ys.i0[y] * w;
      const r1 = plane + ys.i1[y] * w;
      const wy = ys.w1[y];
      const orow = oplane + y * ow;
      for (let x = 0; x < ow; x++) {
        const x0 = xs.i0[x];
        const x1 = xs.i1[x];
        const wx = xs.w1[x];
        const top = src[r0 + x0] + (src[r0 + x1] - src[r0 + x0]) * wx;
        const bot = src[r1 + x0] + (src[r1 + x1] - src[r1 + x0]) * wx;
        out[orow + x] = top + (bot - top) * wy;
      }
    }
  }
  return out;
}

/** Horizontal flip of [C, H, W] planes. */
export function flipWidthCHW(src: Float32Array, channels: number, h: number, w: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < channels * h; r++) {
    const base = r * w;
    for (let x = 0; x < w; x++) out[base + x] = src[base + w - 1 - x];
  }
  return out;
}

/** Python/numpy round(): half to even (round(6.5) = 6), as the reference code sizes scaled images. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The (h, w) of an image of size h×w scaled by s, rounded half to even as the reference repos do. */
export function scaledSize(h: number, w: number, s: number): [number, number] {
  return [roundHalfEven(h * s), roundHalfEven(w * s)];
}
