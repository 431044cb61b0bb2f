// The dense CRF's one API for Node and the browser: checks the inputs, makes the unaries and runs
// mean-field inference on an engine (native addon or WebAssembly, same C source, or the plain
// TypeScript port in ./js-engine.ts; see runtime/node/crf/crf-engines.ts and ./wasm-engine.ts).

import type { PixelImage } from '../preprocess.ts';
import { checkCrfParams, packKernels, type CrfParams } from './params.ts';
import { argmaxLabels, unaryFromLabels, unaryFromProbabilities } from './unaries.ts';

export type CrfEngineName = 'native' | 'wasm' | 'js';

/** Mean-field inference over interleaved RGB bytes: returns Q float [C][H*W]. */
export interface CrfEngine {
  readonly name: CrfEngineName;
  /** threads used when a call does not say (1 for wasm) */
  readonly defaultThreads: number;
  /** the instruction set the engine's copy uses (native: avx2 or generic; wasm: simd128) */
  readonly isa: string;
  inference(width: number, height: number, rgb: Uint8Array, kernels: Float32Array, unary: Float32Array, labels: number, iterations: number, threads: number): Float32Array;
}

export interface DenseCrfOptions {
  /** threads for the native engine (default: all cores); wasm runs on one */
  threads?: number;
  /** names the input in errors (a file name) */
  source?: string;
}

/** RGB bytes of an RGB or RGBA image (alpha dropped). */
function rgbBytes(img: PixelImage): Uint8Array {
  if (img.channels === 3) return img.data instanceof Uint8Array ? img.data : new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length);
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[3 * i] = img.data[4 * i];
    out[3 * i + 1] = img.data[4 * i + 1];
    out[3 * i + 2] = img.data[4 * i + 2];
  }
  return out;
}

/** Throws a clear error when the image and the [C, H, W] map cannot go through the CRF together. */
export function checkCrfInput(img: PixelImage, maps: { data: Float32Array; dims: readonly number[] }, source: string): number {
  const { width, height } = img;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new Error(`${source}: image has invalid size ${width}×${height}`);
  if (width < 2 || height < 2) throw new Error(`${source}: image is ${width}×${height}; the dense CRF needs at least 2×2 pixels`);
  if (img.data.length !== width * height * img.channels) throw new Error(`${source}: image data has ${img.data.length} bytes, expected ${width}×${height}×${img.channels}`);
  if (maps.dims.length !== 3) throw new Error(`${source}: probabilities must be [C, H, W], got [${maps.dims.join(', ')}]`);
  const [labels, h, w] = maps.dims;
  if (h !== height || w !== width) throw new Error(`${source}: probabilities are ${w}×${h} (W×H) but the image is ${width}×${height}`);
  if (!(labels >= 1 && labels <= 255)) throw new Error(`${source}: probabilities have ${labels} labels; the CRF takes 1..255`);
  if (maps.data.length !== labels * h * w) throw new Error(`${source}: probability data has ${maps.data.length} values, expected ${labels}×${h}×${w}`);
  return labels;
}

/**
 * Mean-field marginals Q float [C][H*W] for an image and a probability map [C, H, W] (each
 * pixel's probabilities over C labels). With label unaries (the irn preset) the map's argmax is
 * the label. Throws on a size mismatch, NaN probabilities or a degenerate (1-pixel-wide) image.
 */
export function denseCrf(engine: CrfEngine, img: PixelImage, probs: { data: Float32Array; dims: readonly number[] }, params: CrfParams, options: DenseCrfOptions = {}): Float32Array {
  const source = options.source ?? 'dense CRF';
  const labels = checkCrfInput(img, probs, source);
  checkCrfParams(params);
  const unary =
    params.unary.kind === 'labels'
      ? unaryFromLabels(argmaxLabels(checkedNoNaN(probs.data, labels, source), labels), labels, params.unary.gtProb, source)
      : unaryFromProbabilities(probs.data, labels, source);
  return denseCrfFromUnary(engine, img, unary, labels, params, options);
}

/** As denseCrf, from unary energies float [C][H*W] made by the caller. */
export function denseCrfFromUnary(engine: CrfEngine, img: PixelImage, unary: Float32Array, labels: number, params: CrfParams, options: DenseCrfOptions = {}): Float32Array {
  const source = options.source ?? 'dense CRF';
  checkCrfInput(img, { data: unary, dims: [labels, img.height, img.width] }, source);
  checkCrfParams(params);
  const threads = options.threads ?? engine.defaultThreads;
  return engine.inference(img.width, img.height, rgbBytes(img), packKernels(params), unary, labels, params.iterations, threads);
}

/** Labels (argmax of Q) after the CRF. */
export function denseCrfLabels(engine: CrfEngine, img: PixelImage, probs: { data: Float32Array; dims: readonly number[] }, params: CrfParams, options: DenseCrfOptions = {}): Uint8Array {
  const q = denseCrf(engine, img, probs, params, options);
  return argmaxLabels(q, probs.dims[0]);
}

function checkedNoNaN(data: Float32Array, labels: number, source: string): Float32Array {
  const i = data.findIndex(Number.isNaN);
  if (i >= 0) throw new Error(`${source}: NaN probability at label ${Math.floor(i / (data.length / labels))}, pixel ${i % (data.length / labels)}`);
  return data;
}
