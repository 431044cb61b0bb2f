// The last step of a CAM model's label rule, shared by `wsss pseudo-label` and the web demo so
// both turn the same merged CAMs (and saliency map) into the same labels: Algorithm 1 (EDAM)
// when a saliency map is given, else a constant background score.

import type { ImageCams } from './multiscale-cams.ts';
import { labelMapWithBackground, selectChannels } from './multiscale.ts';
import { saliencyLabelMap, type SaliencyFusion } from './saliency-fusion.ts';

export interface RuleLabelOptions {
  bgThreshold: number;
  /** The image's saliency map (width·height values in 0..255) and how to fuse it. */
  saliency?: { map: ArrayLike<number>; fusion: SaliencyFusion };
}

/** Label map (0 = background, class k → k + 1) of merged CAMs; `keep`: the classes allowed (default all). */
export function labelsByRule(cams: ImageCams, keep: number[] | undefined, o: RuleLabelOptions): Uint8Array {
  const keys = keep ?? Array.from({ length: cams.classes }, (_, i) => i);
  const hw = cams.height * cams.width;
  const maps = selectChannels(cams.cams, cams.classes, hw, keys);
  return o.saliency ? saliencyLabelMap(maps, keys, hw, o.saliency.map, o.saliency.fusion) : labelMapWithBackground(maps, keys, hw, o.bgThreshold);
}
