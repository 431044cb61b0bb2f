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
  resizeBilinearInto(src, channels, h, w, oh, ow, alignCorners, out, 0, false);
  return out;
}

/**
 * resizeBilinearCHW writing into `out` from `offset` — or, with `accumulate`, adding to what is
 * there (as adding the float32 result of resizeBilinearCHW would), so callers that sum resized
 * maps need no temporary per map.
 *
 * Separable: each source row used is first interpolated along x (in float64, exactly the value
 * the one-pass formula forms for that row), then rows are blended along y. Same arithmetic as
 * interpolating each output pixel from its four taps, bit for bit, with about a third of the work
 * when enlarging (the multi-scale CAM merge enlarges small maps several times per image).
 */
export function resizeBilinearInto(
  src: Float32Array,
  channels: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
  alignCorners: boolean,
  out: Float32Array,
  offset: number,
  accumulate: boolean,
): void {
  if (out.length < offset + channels * oh * ow) throw new Error(`resizeBilinearInto: output holds ${out.length - offset} values from offset ${offset}, needs ${channels}×${oh}×${ow}`);
  if (h === oh && w === ow) {
    const n = channels * h * w;
    if (!accumulate) out.set(src.subarray(0, n), offset);
    else for (let i = 0; i < n; i++) out[offset + i] += src[i];
    return;
  }
  const ys = axisTaps(h, oh, alignCorners);
  const xs = axisTaps(w, ow, alignCorners);
  // Rows of the source that some output row reads.
  const needed = new Uint8Array(h);
  for (let y = 0; y < oh; y++) needed[ys.i0[y]] = needed[ys.i1[y]] = 1;
  const rows = new Float64Array(h * ow);
  const { i0: x0s, i1: x1s, w1: wxs } = xs;
  for (let c = 0; c < channels; c++) {
    const plane = c * h * w;
    for (let r = 0; r < h; r++) {
      if (!needed[r]) continue;
      const row = plane + r * w;
      const dst = r * ow;
      for (let x = 0; x < ow; x++) {
        const a = src[row + x0s[x]];
        rows[dst + x] = a + (src[row + x1s[x]] - a) * wxs[x];
      }
    }
    const oplane = offset + c * oh * ow;
    for (let y = 0; y < oh; y++) {
      const t = ys.i0[y] * ow;
      const b = ys.i1[y] * ow;
      const wy = ys.w1[y];
      const orow = oplane + y * ow;
      if (accumulate) {
        for (let x = 0; x < ow; x++) {
          const top = rows[t + x];
          out[orow + x] += Math.fround(top + (rows[b + x] - top) * wy);
        }
      } else {
        for (let x = 0; x < ow; x++) {
          const top = rows[t + x];
          out[orow + x] = top + (rows[b + x] - top) * wy;
        }
      }
    }
  }
}

/** Horizontal flip of [C, H, W] planes. */
export function flipWidthCHW(src: Float32Array, channels: number, h: number, w: number): Float32Array {
  const out = new Float32Array(channels * h * w);
  flipWidthInto(src, 0, out, 0, channels, h, w);
  return out;
}

/** Horizontal flip of the [C, H, W] planes at src[srcOffset…] into dst[dstOffset…] (regions must not overlap). */
export function flipWidthInto(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, channels: number, h: number, w: number): void {
  for (let r = 0; r < channels * h; r++) {
    const s = srcOffset + r * w + w - 1;
    const d = dstOffset + r * w;
    for (let x = 0; x < w; x++) dst[d + x] = src[s - x];
  }
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
