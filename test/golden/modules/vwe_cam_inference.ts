// Golden adapter: VWE's multi-scale CAM aggregation (SPEC.md §2.5) from the vector's raw view
// CAMs, through the runtime's merge (mergeImageCams, rule 'max-flip-sum', strided and full-size
// maps) and label map (camLabelMap). Scales, sizes, eps and background score come from the file.

import { camLabelMap, mergeImageCams, type ImageCams, type ScaleOutput } from '../../../runtime/cam/multiscale-cams.ts';
import { selectChannels } from '../../../runtime/cam/multiscale.ts';
import { inputsByNumber } from '../graph-forward.ts';
import type { GoldenImpl, GoldenVector, ImplOutputs } from '../vector.ts';

/** The stride s whose strided size ((H−1)//s+1, (W−1)//s+1) is the vector's (the smallest one). */
export function strideOfSize(H: number, W: number, size: [number, number]): number {
  for (let s = 1; s <= Math.max(H, W); s++) if (Math.floor((H - 1) / s) + 1 === size[0] && Math.floor((W - 1) / s) + 1 === size[1]) return s;
  throw new Error(`no stride maps ${H}×${W} to the strided size ${size.join('×')}`);
}

/** The IRN/VWE outputs of merged CAMs: kept classes, strided and full-size maps, label map. */
export function irnOutputs(c: ImageCams, labels: ArrayLike<number>, bkgScore: number): ImplOutputs {
  const keys = Array.from(labels, (v, i) => (v > 0 ? i : -1)).filter((i) => i >= 0);
  const hw = c.height * c.width;
  const s = c.strided!;
  return {
    keys: { shape: [keys.length], data: keys },
    strided_cam: { shape: [keys.length, s.height, s.width], data: selectChannels(s.cams, c.classes, s.height * s.width, keys) },
    high_res_cam: { shape: [keys.length, c.height, c.width], data: selectChannels(c.cams, c.classes, hw, keys) },
    label_map: { shape: [c.height, c.width], data: camLabelMap(c, bkgScore, keys) },
  };
}

export const run: GoldenImpl = (v: GoldenVector) => {
  const scales = v.params.scales as number[];
  const [H, W] = v.params.image_hw as [number, number];
  const raw = inputsByNumber(v, 'raw_cam_s');
  const outputs: ScaleOutput[] = scales.map((s) => {
    const t = raw.get(s);
    if (!t) throw new Error(`vwe_cam_inference: no input raw_cam_s<${s}>`);
    return { scale: s, rawCams: { dims: t.shape, data: Float32Array.from(t.data) } };
  });
  const stride = strideOfSize(H, W, v.params.strided_size as [number, number]);
  const cams = mergeImageCams(outputs, H, W, { scales, flip: true, rule: 'max-flip-sum', stridedOutput: stride, normEps: v.params.norm_eps as number });
  return irnOutputs(cams, v.inputs.labels.data, v.params.bkg_score as number);
};
