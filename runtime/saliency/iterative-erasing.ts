// Saliency with iterative erasing (Xu et al., seed 004, §2.1.2, after Wei et al.'s adversarial
// erasing): a saliency detector often finds one object of several, so the highly salient pixels
// are erased from the image (filled with the mean pixel) and the detector runs again on what is
// left: S_0 on the image, erase S_0 > 0.7, S_1 on the erased image, erase S_1 > 0.8 (from the
// already erased image), S_2; the result is the pixel-wise max of S_0, S_1, S_2 (equation 3).
// Isomorphic: the detector is any function from a planar RGB image to a [0, 1] map of its size.

/** The erasing thresholds of the paper's experiments: two erasing steps, three maps. */
export const ERASING_THRESHOLDS = [0.7, 0.8];

/** What erased pixels are filled with: the paper says "the average pixel value"; taken here as the ImageNet mean pixel its VGG-16 was trained with, in [0, 255]. */
export const MEAN_PIXEL = [0.485 * 255, 0.456 * 255, 0.406 * 255];

/** Planar RGB [3, H, W] in [0, 255]. */
export interface PlanarRgb {
  data: Float32Array;
  height: number;
  width: number;
}

/** A saliency detector: image → [H·W] saliency in [0, 1]. */
export type SaliencyDetector = (img: PlanarRgb) => Promise<Float32Array>;

export interface ErasingResult {
  /** max over the maps, [H·W]. */
  saliency: Float32Array;
  /** S_0, S_1, … in order. */
  maps: Float32Array[];
  /** The detector's inputs after each erasing step (the erased images). */
  erased: PlanarRgb[];
}

/**
 * Runs `detect` on `img`, then once more after each erasing threshold, and returns the
 * pixel-wise max. With no thresholds this is the detector alone.
 */
export async function saliencyWithErasing(detect: SaliencyDetector, img: PlanarRgb, thresholds: readonly number[] = ERASING_THRESHOLDS, fill: readonly number[] = MEAN_PIXEL): Promise<ErasingResult> {
  const hw = img.height * img.width;
  const check = (s: Float32Array, step: number) => {
    if (s.length !== hw) throw new Error(`saliency detector returned ${s.length} values for a ${img.height}×${img.width} image (step ${step})`);
    return s;
  };
  const maps = [check(await detect(img), 0)];
  const erased: PlanarRgb[] = [];
  let current = img;
  for (const [i, t] of thresholds.entries()) {
    const data = new Float32Array(current.data);
    const last = maps[maps.length - 1];
    for (let p = 0; p < hw; p++) if (last[p] > t) for (let c = 0; c < 3; c++) data[c * hw + p] = fill[c];
    current = { data, height: img.height, width: img.width };
    erased.push(current);
    maps.push(check(await detect(current), i + 1));
  }
  const saliency = new Float32Array(hw);
  for (const m of maps) for (let p = 0; p < hw; p++) saliency[p] = Math.max(saliency[p], m[p]);
  return { saliency, maps, erased };
}
