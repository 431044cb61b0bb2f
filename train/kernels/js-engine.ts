// The portable kernels: plain TypeScript loops over tfjs's arrays, accumulating in float64.
// Slower than the native ones by one to two orders of magnitude but still far ahead of the
// stock pure-JS convolution gradients, and available everywhere (no compiler, any CPU).
// Every inner loop runs along the contiguous channel axis so V8 keeps it tight.

import { Act, activationGradAt, applyActivation } from './activation.ts';
import { ConvField as F } from './conv-params.ts';
import { BinaryOp, ReduceOp } from './elementwise.ts';
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
};
