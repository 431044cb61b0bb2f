// The portable kernels: plain TypeScript loops over tfjs's arrays, accumulating in float64.
// Slower than the native ones by one to two orders of magnitude but still far ahead of the
// stock pure-JS convolution gradients, and available everywhere (no compiler, any CPU).
// Every inner loop runs along the contiguous channel axis so V8 keeps it tight.

import { Act, activationGradAt, applyActivation } from './activation.ts';
import { ConvField as F } from './conv-params.ts';
import { BinaryOp, ReduceOp, UnaryOp } from './elementwise.ts';
import type { KernelEngine } from './engine.ts';

interface Geometry {
  N: number; H: number; W: number; C: number; OH: number; OW: number; OC: number;
  KH: number; KW: number; SH: number; SW: number; DH: number; DW: number; PT: number; PL: number; M: number;
}

function geometry(p: Int32Array): Geometry {
  return {
    N: p[F.Batch], H: p[F.InH], W: p[F.InW], C: p[F.InC], OH: p[F.OutH], OW: p[F.OutW], OC: p[F.OutC],
    KH: p[F.KH], KW: p[F.KW], SH: p[F.StrideH], SW: p[F.StrideW], DH: p[F.DilH], DW: p[F.DilW],
    PT: p[F.PadTop], PL: p[F.PadLeft], M: p[F.Mult],
  };
}

function storeRow(y: Float32Array, yo: number, acc: Float64Array, n: number, bias: Float32Array | null, act: Act, alpha: number) {
  for (let j = 0; j < n; j++) {
    const v = acc[j] + (bias ? bias[bias.length === 1 ? 0 : j] : 0);
    y[yo + j] = act === Act.Linear ? v : applyActivation(v, act, alpha);
  }
}

function conv2d(p: Int32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number, alpha: number, y: Float32Array) {
  const g = geometry(p);
  const acc = new Float64Array(g.OC);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        acc.fill(0);
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.SH - g.PT + kh * g.DH;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.SW - g.PL + kw * g.DW;
            if (iw < 0 || iw >= g.W) continue;
            const xo = ((n * g.H + ih) * g.W + iw) * g.C;
            const wo = (kh * g.KW + kw) * g.C * g.OC;
            for (let c = 0; c < g.C; c++) {
              const xv = x[xo + c];
              if (xv === 0) continue;
              const wr = wo + c * g.OC;
              for (let oc = 0; oc < g.OC; oc++) acc[oc] += xv * w[wr + oc];
            }
          }
        }
        storeRow(y, ((n * g.OH + oh) * g.OW + ow) * g.OC, acc, g.OC, bias, act, alpha);
      }
}

function conv2dGradInput(p: Int32Array, dy: Float32Array, w: Float32Array, dx: Float32Array) {
  const g = geometry(p);
  const acc = new Float64Array(dx.length);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        const go = ((n * g.OH + oh) * g.OW + ow) * g.OC;
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.SH - g.PT + kh * g.DH;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.SW - g.PL + kw * g.DW;
            if (iw < 0 || iw >= g.W) continue;
            const xo = ((n * g.H + ih) * g.W + iw) * g.C;
            const wo = (kh * g.KW + kw) * g.C * g.OC;
            for (let c = 0; c < g.C; c++) {
              const wr = wo + c * g.OC;
              let s = 0;
              for (let oc = 0; oc < g.OC; oc++) s += dy[go + oc] * w[wr + oc];
              acc[xo + c] += s;
            }
          }
        }
      }
  for (let i = 0; i < dx.length; i++) dx[i] = acc[i];
}

function conv2dGradFilter(p: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array) {
  const g = geometry(p);
  const acc = new Float64Array(g.KH * g.KW * g.C * g.OC);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        const go = ((n * g.OH + oh) * g.OW + ow) * g.OC;
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.SH - g.PT + kh * g.DH;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.SW - g.PL + kw * g.DW;
            if (iw < 0 || iw >= g.W) continue;
            const xo = ((n * g.H + ih) * g.W + iw) * g.C;
            const wo = (kh * g.KW + kw) * g.C * g.OC;
            for (let c = 0; c < g.C; c++) {
              const xv = x[xo + c];
              if (xv === 0) continue;
              const wr = wo + c * g.OC;
              for (let oc = 0; oc < g.OC; oc++) acc[wr + oc] += xv * dy[go + oc];
            }
          }
        }
      }
  for (let i = 0; i < acc.length; i++) dw[i] = acc[i];
}

function depthwise(p: Int32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number, alpha: number, y: Float32Array) {
  const g = geometry(p);
  const acc = new Float64Array(g.OC);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        acc.fill(0);
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.SH - g.PT + kh * g.DH;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.SW - g.PL + kw * g.DW;
            if (iw < 0 || iw >= g.W) continue;
            const xo = ((n * g.H + ih) * g.W + iw) * g.C;
            const wo = (kh * g.KW + kw) * g.OC;
            for (let c = 0; c < g.C; c++)
              for (let q = 0; q < g.M; q++) acc[c * g.M + q] += x[xo + c] * w[wo + c * g.M + q];
          }
        }
        storeRow(y, ((n * g.OH + oh) * g.OW + ow) * g.OC, acc, g.OC, bias, act, alpha);
      }
}

function depthwiseGradInput(p: Int32Array, dy: Float32Array, w: Float32Array, dx: Float32Array) {
  const g = geometry(p);
  const acc = new Float64Array(dx.length);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        const go = ((n * g.OH + oh) * g.OW + ow) * g.OC;
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.SH - g.PT + kh * g.DH;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.SW - g.PL + kw * g.DW;
            if (iw < 0 || iw >= g.W) continue;
            const xo = ((n * g.H + ih) * g.W + iw) * g.C;
            const wo = (kh * g.KW + kw) * g.OC;
            for (let c = 0; c < g.C; c++) {
              let s = 0;
              for (let q = 0; q < g.M; q++) s += dy[go + c * g.M + q] * w[wo + c * g.M + q];
              acc[xo + c] += s;
            }
          }
        }
      }
  for (let i = 0; i < dx.length; i++) dx[i] = acc[i];
}

function depthwiseGradFilter(p: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array) {
  const g = geometry(p);
  const acc = new Float64Array(g.KH * g.KW * g.OC);
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        const go = ((n * g.OH + oh) * g.OW + ow) * g.OC;
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.SH - g.PT + kh * g.DH;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.SW - g.PL + kw * g.DW;
            if (iw < 0 || iw >= g.W) continue;
            const xo = ((n * g.H + ih) * g.W + iw) * g.C;
            const wo = (kh * g.KW + kw) * g.OC;
            for (let c = 0; c < g.C; c++)
              for (let q = 0; q < g.M; q++) acc[wo + c * g.M + q] += x[xo + c] * dy[go + c * g.M + q];
          }
        }
      }
  for (let i = 0; i < acc.length; i++) dw[i] = acc[i];
}

function matmul(p: Int32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null, act: number, alpha: number, c: Float32Array) {
  const [batch, batchA, batchB, M, N, K, transA, transB, biasLen] = p;
  const acc = new Float64Array(N);
  const bRows = new Float32Array(transB ? K * N : 0); // b^T laid out [k][n] so the inner loop is contiguous
  let transposedFor = -1;
  for (let bi = 0; bi < batch; bi++) {
    const ao = (batchA === 1 ? 0 : bi) * M * K;
    const bIndex = batchB === 1 ? 0 : bi;
    let bv = b;
    let bo = bIndex * K * N;
    if (transB) {
      if (transposedFor !== bIndex) {
        for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) bRows[k * N + n] = b[bo + n * K + k];
        transposedFor = bIndex;
      }
      bv = bRows;
      bo = 0;
    }
    for (let i = 0; i < M; i++) {
      acc.fill(0);
      for (let k = 0; k < K; k++) {
        const av = transA ? a[ao + k * M + i] : a[ao + i * K + k];
        if (av === 0) continue;
        const br = bo + k * N;
        for (let j = 0; j < N; j++) acc[j] += av * bv[br + j];
      }
      storeRow(c, (bi * M + i) * N, acc, N, biasLen ? bias : null, act, alpha);
    }
  }
}

function activationGrad(dy: Float32Array, y: Float32Array, act: number, alpha: number, dx: Float32Array) {
  for (let i = 0; i < dx.length; i++) dx[i] = activationGradAt(dy[i], y[i], act, alpha);
}

/** NaN-propagating, as Math.max / Math.min. */
const binaryFns: Record<number, (x: number, y: number) => number> = {
  [BinaryOp.Add]: (x, y) => x + y,
  [BinaryOp.Sub]: (x, y) => x - y,
  [BinaryOp.Mul]: (x, y) => x * y,
  [BinaryOp.Div]: (x, y) => x / y,
  [BinaryOp.Maximum]: (x, y) => Math.max(x, y),
  [BinaryOp.Minimum]: (x, y) => Math.min(x, y),
  [BinaryOp.SquaredDifference]: (x, y) => (x - y) * (x - y),
};

function binary(op: number, shape: Int32Array, sa: Int32Array, sb: Int32Array, a: Float32Array, b: Float32Array, out: Float32Array) {
  const f = binaryFns[op];
  if (!f) throw new Error(`binary: unknown operator ${op}`);
  const last = shape.length - 1;
  const inner = shape[last];
  const ia = sa[last];
  const ib = sb[last];
  let rows = 1;
  for (let d = 0; d < last; d++) rows *= shape[d];
  for (let r = 0; r < rows; r++) {
    let oa = 0;
    let ob = 0;
    let rem = r;
    for (let d = last - 1; d >= 0; d--) {
      const idx = rem % shape[d];
      rem = (rem - idx) / shape[d];
      oa += idx * sa[d];
      ob += idx * sb[d];
    }
    const o = r * inner;
    for (let i = 0; i < inner; i++) out[o + i] = f(a[oa + i * ia], b[ob + i * ib]);
  }
}

function reduce(op: number, outer: number, mid: number, inner: number, x: Float32Array, out: Float32Array) {
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(op === ReduceOp.Max ? -Infinity : 0);
    const base = o * mid * inner;
    for (let m = 0; m < mid; m++) {
      const row = base + m * inner;
      if (op === ReduceOp.Max) for (let i = 0; i < inner; i++) acc[i] = Math.max(acc[i], x[row + i]);
      else for (let i = 0; i < inner; i++) acc[i] += x[row + i];
    }
    for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i];
  }
}

const unaryFns: Record<number, (x: number, alpha: number) => number> = {
  [UnaryOp.Relu]: (x) => (x < 0 ? 0 : x),
  [UnaryOp.Relu6]: (x) => (x < 0 ? 0 : x > 6 ? 6 : x),
  [UnaryOp.LeakyRelu]: (x, a) => (x < 0 ? a * x : x),
  [UnaryOp.Step]: (x, a) => (Number.isNaN(x) ? x : x > 0 ? 1 : a),
  [UnaryOp.Neg]: (x) => -x,
  [UnaryOp.Square]: (x) => x * x,
  [UnaryOp.Abs]: (x) => Math.abs(x),
  [UnaryOp.Sqrt]: (x) => Math.sqrt(x),
  [UnaryOp.Rsqrt]: (x) => 1 / Math.sqrt(x),
  [UnaryOp.Exp]: (x) => Math.exp(x),
  [UnaryOp.Log]: (x) => Math.log(x),
  [UnaryOp.Sigmoid]: (x) => 1 / (1 + Math.exp(-x)),
  [UnaryOp.Tanh]: (x) => Math.tanh(x),
  [UnaryOp.Elu]: (x) => (x >= 0 ? x : Math.expm1(x)),
};

function unary(op: number, alpha: number, x: Float32Array, out: Float32Array) {
  const f = unaryFns[op];
  if (!f) throw new Error(`unary: unknown operator ${op}`);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], alpha);
}

function copyStrided(shape: Int32Array, ss: Int32Array, ds: Int32Array, src: Float32Array, dst: Float32Array) {
  const last = shape.length - 1;
  const inner = shape[last];
  let rows = 1;
  for (let d = 0; d < last; d++) rows *= shape[d];
  for (let r = 0; r < rows; r++) {
    let os = 0;
    let od = 0;
    let rem = r;
    for (let d = last - 1; d >= 0; d--) {
      const idx = rem % shape[d];
      rem = (rem - idx) / shape[d];
      os += idx * ss[d];
      od += idx * ds[d];
    }
    for (let i = 0; i < inner; i++) dst[od + i * ds[last]] = src[os + i * ss[last]];
  }
}

function channelAffine(rows: number, channels: number, x: Float32Array, scale: Float32Array, shift: Float32Array, out: Float32Array) {
  for (let r = 0; r < rows; r++) {
    const o = r * channels;
    for (let c = 0; c < channels; c++) out[o + c] = x[o + c] * scale[c] + shift[c];
  }
}

/** Calls f(n, oh, ow, first in-bounds (kh, kw) range) for every output pixel of a pooling. */
function forWindows(g: Geometry, f: (n: number, oh: number, ow: number, ih0: number, iw0: number, kh0: number, kh1: number, kw0: number, kw1: number) => void) {
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++) {
      const ih0 = oh * g.SH - g.PT;
      const kh0 = Math.max(0, -ih0);
      const kh1 = Math.min(g.KH, g.H - ih0);
      for (let ow = 0; ow < g.OW; ow++) {
        const iw0 = ow * g.SW - g.PL;
        f(n, oh, ow, ih0, iw0, kh0, kh1, Math.max(0, -iw0), Math.min(g.KW, g.W - iw0));
      }
    }
}

function pool(p: Int32Array, x: Float32Array, y: Float32Array, isMax: boolean) {
  const g = geometry(p);
  forWindows(g, (n, oh, ow, ih0, iw0, kh0, kh1, kw0, kw1) => {
    const yo = ((n * g.OH + oh) * g.OW + ow) * g.C;
    const count = Math.max(0, kh1 - kh0) * Math.max(0, kw1 - kw0);
    for (let c = 0; c < g.C; c++) {
      let acc = isMax ? -Infinity : 0;
      for (let kh = kh0; kh < kh1; kh++)
        for (let kw = kw0; kw < kw1; kw++) {
          const v = x[((n * g.H + ih0 + kh) * g.W + iw0 + kw) * g.C + c];
          if (isMax) {
            if (v > acc) acc = v;
          } else acc += v;
        }
      y[yo + c] = isMax ? acc : acc / count;
    }
  });
}

function maxPoolGrad(p: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array) {
  const g = geometry(p);
  dx.fill(0);
  forWindows(g, (n, oh, ow, ih0, iw0, kh0, kh1, kw0, kw1) => {
    const go = ((n * g.OH + oh) * g.OW + ow) * g.C;
    for (let c = 0; c < g.C; c++) {
      let best = -Infinity;
      let where = -1;
      for (let kh = kh0; kh < kh1; kh++)
        for (let kw = kw0; kw < kw1; kw++) {
          const i = ((n * g.H + ih0 + kh) * g.W + iw0 + kw) * g.C + c;
          if (x[i] > best) {
            best = x[i];
            where = i;
          }
        }
      if (where >= 0) dx[where] += dy[go + c];
    }
  });
}

function avgPoolGrad(p: Int32Array, dy: Float32Array, dx: Float32Array) {
  const g = geometry(p);
  const acc = new Float64Array(dx.length);
  const scale = 1 / (g.KH * g.KW);
  forWindows(g, (n, oh, ow, ih0, iw0, kh0, kh1, kw0, kw1) => {
    const go = ((n * g.OH + oh) * g.OW + ow) * g.C;
    for (let kh = kh0; kh < kh1; kh++)
      for (let kw = kw0; kw < kw1; kw++) {
        const xo = ((n * g.H + ih0 + kh) * g.W + iw0 + kw) * g.C;
        for (let c = 0; c < g.C; c++) acc[xo + c] += dy[go + c] * scale;
      }
  });
  for (let i = 0; i < dx.length; i++) dx[i] = acc[i];
}

/** tfjs's bilinear source coordinate: the two neighbours and the second one's weight. */
function lerpAt(i: number, size: number, outSize: number, alignCorners: number, halfPixel: number) {
  const effIn = alignCorners && outSize > 1 ? size - 1 : size;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const src = halfPixel ? ratio * (i + 0.5) - 0.5 : ratio * i;
  const lo = Math.min(size - 1, Math.max(0, Math.floor(src)));
  return { lo, hi: Math.max(0, Math.min(size - 1, Math.ceil(src))), frac: Math.fround(src - lo) };
}

function resizeBilinear(p: Int32Array, align: number, half: number, x: Float32Array, y: Float32Array) {
  const [N, H, W, C, OH, OW] = p;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++) {
      const ry = lerpAt(oh, H, OH, align, half);
      for (let ow = 0; ow < OW; ow++) {
        const rx = lerpAt(ow, W, OW, align, half);
        const tl = ((n * H + ry.lo) * W + rx.lo) * C;
        const tr = ((n * H + ry.lo) * W + rx.hi) * C;
        const bl = ((n * H + ry.hi) * W + rx.lo) * C;
        const br = ((n * H + ry.hi) * W + rx.hi) * C;
        const yo = ((n * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          const t = x[tl + c] + (x[tr + c] - x[tl + c]) * rx.frac;
          const b = x[bl + c] + (x[br + c] - x[bl + c]) * rx.frac;
          y[yo + c] = t + (b - t) * ry.frac;
        }
      }
    }
}

function resizeBilinearGrad(p: Int32Array, align: number, half: number, dy: Float32Array, dx: Float32Array) {
  const [N, H, W, C, OH, OW] = p;
  const acc = new Float64Array(dx.length);
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++) {
      const ry = lerpAt(oh, H, OH, align, half);
      for (let ow = 0; ow < OW; ow++) {
        const rx = lerpAt(ow, W, OW, align, half);
        const w = [(1 - ry.frac) * (1 - rx.frac), (1 - ry.frac) * rx.frac, ry.frac * (1 - rx.frac), ry.frac * rx.frac];
        const at = [((n * H + ry.lo) * W + rx.lo) * C, ((n * H + ry.lo) * W + rx.hi) * C, ((n * H + ry.hi) * W + rx.lo) * C, ((n * H + ry.hi) * W + rx.hi) * C];
        const go = ((n * OH + oh) * OW + ow) * C;
        for (let k = 0; k < 4; k++) for (let c = 0; c < C; c++) acc[at[k] + c] += dy[go + c] * w[k];
      }
    }
  for (let i = 0; i < dx.length; i++) dx[i] = acc[i];
}

function shiftedWeightedSum(p: Int32Array, offsets: Int32Array, x: Float32Array, w: Float32Array, y: Float32Array) {
  const [N, H, W, C, J] = p;
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  y.fill(0, 0, N * H * W * C);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        const dst = ((n * H + i) * W + j) * C;
        const wBase = ((n * H + i) * W + j) * J;
        for (let k = 0; k < J; k++) {
          const a = w[wBase + k];
          const src = ((n * H + clamp(i + offsets[2 * k], H)) * W + clamp(j + offsets[2 * k + 1], W)) * C;
          for (let c = 0; c < C; c++) y[dst + c] += a * x[src + c];
        }
      }
}

export const jsEngine: KernelEngine = {
  kind: 'js',
  description: 'javascript, 1 thread',
  conv2d,
  conv2dGradInput,
  conv2dGradFilter,
  depthwise,
  depthwiseGradInput,
  depthwiseGradFilter,
  matmul,
  activationGrad,
  binary,
  reduce,
  unary,
  copyStrided,
  channelAffine,
  maxPool: (p, x, y) => pool(p, x, y, true),
  maxPoolGrad,
  avgPool: (p, x, y) => pool(p, x, y, false),
  avgPoolGrad,
  resizeBilinear,
  resizeBilinearGrad,
  shiftedWeightedSum,
};
