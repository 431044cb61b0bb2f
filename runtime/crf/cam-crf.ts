// CRF refinement of CAMs into a label map, with the background rule of psa (Ahn & Kwak 2018,
// infer_cls.py `_crf_with_alpha`): scores = [(1 − max_c CAM_c)^α, CAM_1 … CAM_K] over the kept
// classes, unaries −log(clip(score, 1e−5, 1)) (scores are not renormalised, as there), dense CRF,
// argmax. EDAM's CRF branch is the same rule with α = 1 (SPEC.md).

import type { PixelImage } from '../preprocess.ts';
import { denseCrf, type CrfEngine } from './dense-crf.ts';
import type { CrfParams } from './params.ts';

/**
 * The default background exponent: psa's high α (32; its low α is 4). On the synthetic benchmark
 * (README) α 16–32 improve the CAM baseline's mIoU by 0.12 and α 4 lowers it.
 */
export const DEFAULT_CRF_ALPHA = 32;

/** What `--crf` adds to CAM labelling: the CRF and the background exponent α. */
export interface CamCrfOptions {
  params: CrfParams;
  alpha: number;
  /** threads of the native engine (default: the engine's) */
  threads?: number;
}

/** Background-plus-CAM scores [K+1, H, W] from normalised CAMs [classes, H, W] of the classes `keys`. */
export function camCrfScores(cams: Float32Array, classes: number, hw: number, keys: readonly number[], alpha: number): Float32Array {
  const out = new Float32Array((keys.length + 1) * hw);
  for (let p = 0; p < hw; p++) {
    let mx = 0;
    for (let j = 0; j < keys.length; j++) {
      const v = cams[keys[j] * hw + p];
      out[(j + 1) * hw + p] = v;
      if (v > mx) mx = v;
    }
    out[p] = Math.pow(Math.max(0, 1 - mx), alpha);
  }
  return out;
}

/**
 * The CRF's label map from normalised CAMs [classes, H, W]: 0 background, k + 1 for class k.
 * `keep`: the classes that may appear (the image's labels), every class when absent.
 */
export function camCrfLabels(engine: CrfEngine, image: PixelImage, cams: Float32Array, classes: number, keep: readonly number[] | undefined, crf: CamCrfOptions, source?: string): Uint8Array {
  if (!(crf.alpha > 0 && Number.isFinite(crf.alpha))) throw new Error(`CRF background exponent α must be a positive number, got ${crf.alpha}`);
  const hw = image.width * image.height;
  if (cams.length !== classes * hw) throw new Error(`${source ?? 'CAMs'}: ${cams.length} CAM values for ${classes} classes of a ${image.width}×${image.height} image`);
  const keys = keep ? [...keep] : Array.from({ length: classes }, (_, i) => i);
  const labels = new Uint8Array(hw);
  if (keys.length === 0) return labels; // nothing but background
  const scores = camCrfScores(cams, classes, hw, keys, crf.alpha);
  const q = denseCrf(engine, image, { data: scores, dims: [keys.length + 1, image.height, image.width] }, crf.params, { threads: crf.threads, source });
  for (let p = 0; p < hw; p++) {
    let best = 0;
    let bestV = q[p];
    for (let j = 1; j <= keys.length; j++) {
      const v = q[j * hw + p];
      if (v > bestV) {
        bestV = v;
        best = j;
      }
    }
    labels[p] = best === 0 ? 0 : keys[best - 1] + 1;
  }
  return labels;
}
