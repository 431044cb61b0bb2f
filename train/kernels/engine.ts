// The compute primitives behind the 'wsss-cpu' tfjs backend, and the choice of implementation.
//
// Two engines implement the same calls on tfjs's own arrays (NHWC activations, HWIO filters,
// row-major matrices; geometry packed into an Int32Array, see conv-params.ts):
//   native — the C kernels (train/kernels/native), SIMD + a thread pool, built by `npm ci`;
//   js     — portable TypeScript loops (js-engine.ts), single-threaded, always available.
// WSSS_KERNELS=js|native forces one (tests use it to compare the two).

import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsEngine } from './js-engine.ts';

export interface KernelEngine {
  readonly kind: 'native' | 'js';
  /** e.g. "native avx512, 2 threads" — shown by `wsss doctor` and the benchmarks. */
  readonly description: string;
  conv2d(p: Int32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number, alpha: number, y: Float32Array): void;
  conv2dGradInput(p: Int32Array, dy: Float32Array, w: Float32Array, dx: Float32Array): void;
  conv2dGradFilter(p: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  depthwise(p: Int32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, act: number, alpha: number, y: Float32Array): void;
  depthwiseGradInput(p: Int32Array, dy: Float32Array, w: Float32Array, dx: Float32Array): void;
  depthwiseGradFilter(p: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  /** p: [batch, batchA, batchB, m, n, k, transA, transB, biasLen] (see matmul-params in wk.h). */
  matmul(p: Int32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null, act: number, alpha: number, c: Float32Array): void;
  /** dx = dy · act'(y), the derivative written in terms of the activation's output. */
  activationGrad(dy: Float32Array, y: Float32Array, act: number, alpha: number, dx: Float32Array): void;
  /** out = a op b over a collapsed broadcast iteration space (elementwise.ts). */
  binary(op: number, shape: Int32Array, strideA: Int32Array, strideB: Int32Array, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** out[o, i] = reduce over m of x[o, m, i] (op: elementwise.ts ReduceOp). */
  reduce(op: number, outer: number, mid: number, inner: number, x: Float32Array, out: Float32Array): void;
  /** out = f(x) (op: elementwise.ts UnaryOp; alpha: leaky-relu slope or step's value at x ≤ 0). */
  unary(op: number, alpha: number, x: Float32Array, out: Float32Array): void;
  /** dst[Σ i·dstStrides] = src[Σ i·srcStrides] over `shape` (slices, transposes, tiles, pads). */
  copyStrided(shape: Int32Array, srcStrides: Int32Array, dstStrides: Int32Array, src: Float32Array, dst: Float32Array): void;
  /** out[r, c] = x[r, c]·scale[c] + shift[c]. */
  channelAffine(rows: number, channels: number, x: Float32Array, scale: Float32Array, shift: Float32Array, out: Float32Array): void;
  /** Pooling on NHWC, geometry as for convolutions (out_c = in_c, dilation 1). */
  maxPool(p: Int32Array, x: Float32Array, y: Float32Array): void;
  maxPoolGrad(p: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  avgPool(p: Int32Array, x: Float32Array, y: Float32Array): void;
  avgPoolGrad(p: Int32Array, dy: Float32Array, dx: Float32Array): void;
  /** p: [batch, inH, inW, channels, outH, outW]. */
  resizeBilinear(p: Int32Array, alignCorners: number, halfPixelCenters: number, x: Float32Array, y: Float32Array): void;
  resizeBilinearGrad(p: Int32Array, alignCorners: number, halfPixelCenters: number, dy: Float32Array, dx: Float32Array): void;
  /**
   * PAMR's iteration on NHWC data: y[n, i, j, c] = Σ_k w[n, i, j, k] · x[n, clamp(i + dy_k), clamp(j + dx_k), c].
   * p: [batch, height, width, channels, offsets]; offsets: (dy, dx) pairs; w: [batch, height, width, offsets].
   */
  shiftedWeightedSum(p: Int32Array, offsets: Int32Array, x: Float32Array, w: Float32Array, y: Float32Array): void;
}

interface NativeAddon extends Omit<KernelEngine, 'kind' | 'description'> {
  info(): { isa: string; threads: number };
  setThreads(n: number): number;
}

const here = dirname(fileURLToPath(import.meta.url));
export const NATIVE_ADDON_PATH = join(here, 'native', 'build', 'wsss_kernels.node');
const BUILD_INFO_PATH = join(here, 'native', 'build', 'build-info.json');

export interface NativeStatus {
  ok: boolean;
  /** Why the native kernels are not in use, or what they are. */
  detail: string;
  isa?: string;
  threads?: number;
  buildInfo?: { compiler?: string; variants?: string[]; node?: string };
}

let nativeCache: { engine: KernelEngine | null; status: NativeStatus } | undefined;

/** Loads the native addon once; never throws (a missing or broken build is a status). */
export function loadNativeEngine(): { engine: KernelEngine | null; status: NativeStatus } {
  if (nativeCache) return nativeCache;
  if (!existsSync(NATIVE_ADDON_PATH)) {
    nativeCache = {
      engine: null,
      status: { ok: false, detail: `not built (${NATIVE_ADDON_PATH} is missing; run \`npm run build:kernels\`)` },
    };
    return nativeCache;
  }
  let buildInfo: NativeStatus['buildInfo'];
  try {
    buildInfo = JSON.parse(readFileSync(BUILD_INFO_PATH, 'utf8'));
  } catch {
    buildInfo = undefined;
  }
  try {
    const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
    const threadsEnv = Number(process.env.WSSS_THREADS);
    if (Number.isInteger(threadsEnv) && threadsEnv > 0) addon.setThreads(threadsEnv);
    const info = addon.info();
    const engine: KernelEngine = {
      kind: 'native',
      description: `native ${info.isa}, ${info.threads} thread${info.threads === 1 ? '' : 's'}`,
      conv2d: addon.conv2d,
      conv2dGradInput: addon.conv2dGradInput,
      conv2dGradFilter: addon.conv2dGradFilter,
      depthwise: addon.depthwise,
      depthwiseGradInput: addon.depthwiseGradInput,
      depthwiseGradFilter: addon.depthwiseGradFilter,
      matmul: addon.matmul,
      activationGrad: addon.activationGrad,
      binary: addon.binary,
      reduce: addon.reduce,
      unary: addon.unary,
      copyStrided: addon.copyStrided,
      channelAffine: addon.channelAffine,
      maxPool: addon.maxPool,
      maxPoolGrad: addon.maxPoolGrad,
      avgPool: addon.avgPool,
      avgPoolGrad: addon.avgPoolGrad,
      resizeBilinear: addon.resizeBilinear,
      resizeBilinearGrad: addon.resizeBilinearGrad,
      shiftedWeightedSum: addon.shiftedWeightedSum,
    };
    nativeCache = { engine, status: { ok: true, detail: engine.description, isa: info.isa, threads: info.threads, buildInfo } };
  } catch (e) {
    nativeCache = {
      engine: null,
      status: { ok: false, detail: `failed to load (${(e as Error).message.split('\n')[0]}); rebuild with \`npm run build:kernels\``, buildInfo },
    };
  }
  return nativeCache;
}

/** The engine the fast backend uses: native when it loads, else the JavaScript one. */
export function selectKernelEngine(prefer: string | undefined = process.env.WSSS_KERNELS): KernelEngine {
  if (prefer === 'js') return jsEngine;
  const native = loadNativeEngine();
  if (native.engine) return native.engine;
  if (prefer === 'native') throw new Error(`WSSS_KERNELS=native, but the native kernels are ${native.status.detail}`);
  return jsEngine;
}
