// Antialiased bilinear resizing of planar float data ([planes, H, W], row-major) for shrinking
// input images, in plain TypeScript so Node and the browser resize identically (sharp and canvas
// each resample differently, which would break browser/Node agreement).
//
// A separable triangle filter whose support widens with the scale factor (like PIL's bilinear),
// so a large photo shrinks without aliasing. When upsampling the support is one source pixel and
// the result equals resize.ts's half-pixel bilinear; score maps use that one (resize.ts).

interface AxisWeights {
  /** First source index contributing to each output index. */
  first: Int32Array;
  /** Number of contributing source indices per output index. */
  count: Int32Array;
  /** Normalised weights, `taps` per output index. */
  weights: Float32Array;
  taps: number;
}

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const support = Math.max(1, scale);
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    // Output pixel o covers source coordinates centred on (o + 0.5)·scale (pixel-edge units).
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(inSize, Math.ceil(centre + support));
    let total = 0;
    let n = 0;
    for (let i = lo; i < hi && n < taps; i++, n++) {
      const w = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
      weights[o * taps + n] = w;
      total += w;
    }
    // Clipping at the borders removes taps; renormalising then equals clamping the coordinate.
    for (let k = 0; k < n; k++) weights[o * taps + k] /= total;
    first[o] = lo;
    count[o] = n;
  }
  return { first, count, weights, taps };
}

/**
 * Resizes `planes` planes of size inH×inW to outH×outW. Returns the input itself when the size
 * is unchanged.
 */
export function resizePlanesAntialiased(
  src: Float32Array,
  planes: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float32Array {
  if (src.length !== planes * inH * inW) {
    throw new Error(`resizePlanesAntialiased: got ${src.length} values, expected ${planes}×${inH}×${inW}`);
  }
  if (!(outH >= 1 && outW >= 1 && Number.isInteger(outH) && Number.isInteger(outW))) {
    throw new Error(`resizePlanesAntialiased: invalid output size ${outH}×${outW}`);
  }
  if (inH === outH && inW === outW) return src;
  const wx = axisWeights(inW, outW);
  const wy = axisWeights(inH, outH);
  // Horizontal pass into [planes, inH, outW], then vertical into [planes, outH, outW].
  const mid = new Float32Array(planes * inH * outW);
  for (let r = 0; r < planes * inH; r++) {
    const row = r * inW;
    const orow = r * outW;
    for (let o = 0; o < outW; o++) {
      const f = wx.first[o];
      const base = o * wx.taps;
      let acc = 0;
      for (let k = 0; k < wx.count[o]; k++) acc += wx.weights[base + k] * src[row + f + k];
      mid[orow + o] = acc;
    }
  }
  const out = new Float32Array(planes * outH * outW);
  for (let p = 0; p < planes; p++) {
    const pin = p * inH * outW;
    const pout = p * outH * outW;
    for (let o = 0; o < outH; o++) {
      const f = wy.first[o];
      const base = o * wy.taps;
      const orow = pout + o * outW;
      for (let k = 0; k < wy.count[o]; k++) {
        const w = wy.weights[base + k];
        const irow = pin + (f + k) * outW;
        for (let x = 0; x < outW; x++) out[orow + x] += w * mid[irow + x];
      }
    }
  }
  return out;
}

/** The size that fits within `maxSide` on its longer side, keeping the aspect ratio (never upscales). */
export function fitWithin(width: number, height: number, maxSide: number): { width: number; height: number } {
  const longer = Math.max(width, height);
  if (!maxSide || longer <= maxSide) return { width, height };
  const s = maxSide / longer;
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}
