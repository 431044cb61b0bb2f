// Golden adapter: VWE's multi-scale CAM aggregation (runtime/cam/multiscale.ts, rule
// 'max-flip-sum') from the 8 raw view CAMs to strided / high-res CAMs and the label map.
import { labelMapWithBackground, mergeViews, normaliseByMax, selectChannels, type CamView } from '../../../runtime/cam/multiscale.ts';
import type { GoldenImpl, GoldenTensor, ImplOutputs } from '../vector.ts';

/** The views of one raw_cam_s<scale> tensor [2, C, h, w]: [plain, flipped input]. */
export function viewsOfScale(t: GoldenTensor, scale: number): CamView[] {
  const [, c, h, w] = t.shape;
  const n = c * h * w;
  const data = Float32Array.from(t.data);
  return [
    { data: data.subarray(0, n), channels: c, h, w, scale, flipped: false },
    { data: data.subarray(n, 2 * n), channels: c, h, w, scale, flipped: true },
  ];
}

export function vweAggregate(views: CamView[], labels: ArrayLike<number>, H: number, W: number, bkgScore: number): ImplOutputs {
  const c = views[0].channels;
  const keys = Array.from(labels, (v, i) => (v > 0 ? i : -1)).filter((i) => i >= 0);
  const sh = Math.floor((H - 1) / 4) + 1;
  const sw = Math.floor((W - 1) / 4) + 1;
  const strided = normaliseByMax(selectChannels(mergeViews(views, sh, sw, 'max-flip-sum'), c, sh * sw, keys), keys.length, sh * sw, 1e-5);
  const high = normaliseByMax(selectChannels(mergeViews(views, H, W, 'max-flip-sum'), c, H * W, keys), keys.length, H * W, 1e-5);
  return {
    keys: { shape: [keys.length], data: keys },
    strided_cam: { shape: [keys.length, sh, sw], data: strided },
    high_res_cam: { shape: [keys.length, H, W], data: high },
    label_map: { shape: [H, W], data: labelMapWithBackground(high, keys, H * W, bkgScore) },
  };
}

export const run: GoldenImpl = (v) => {
  const scales = v.params.scales as number[];
  const [H, W] = v.params.image_hw as [number, number];
  const views = scales.flatMap((s) => viewsOfScale(v.inputs[`raw_cam_s${s.toFixed(1)}`], s));
  return vweAggregate(views, v.inputs.labels.data, H, W, v.params.bkg_score as number);
};
