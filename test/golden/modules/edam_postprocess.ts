// Golden adapter: EDAM's pseudo-label post-processing (SPEC.md §3.5) through the runtime's code:
// with a saliency map, Algorithm 1 as infer_cls.py computes it (runtime/cam/saliency-fusion.ts,
// rule 'code', θ in saliency units: the code's θ·100); without one, a constant background score θ
// against the normalised CAMs (runtime/cam/multiscale.ts, the rule every CAM model uses).

import { labelMapWithBackground } from '../../../runtime/cam/multiscale.ts';
import { saliencyLabelMap } from '../../../runtime/cam/saliency-fusion.ts';
import type { GoldenImpl, ImplOutputs } from '../vector.ts';

export const run: GoldenImpl = (v): ImplOutputs => {
  const [k, h, w] = v.inputs.norm_cam.shape;
  const hw = h * w;
  const cams = Float32Array.from(v.inputs.norm_cam.data);
  const keys = Array.from(v.inputs.keys.data);
  if (keys.length !== k) throw new Error(`edam_postprocess: ${keys.length} keys for ${k} CAMs`);
  const withSal = v.params.with_saliency as { theta: number; alpha: number; beta: number };
  const without = v.params.without_saliency as { theta: number };
  return {
    pred_with_saliency: { shape: [h, w], data: saliencyLabelMap(cams, keys, hw, v.inputs.saliency_uint8.data, { rule: 'code', theta: withSal.theta * 100, alpha: withSal.alpha, beta: withSal.beta }) },
    pred_without_saliency: { shape: [h, w], data: labelMapWithBackground(cams, keys, hw, without.theta) },
  };
};
