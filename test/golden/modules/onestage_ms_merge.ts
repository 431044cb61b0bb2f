// Golden adapter: 1-Stage's multi-scale merge (runtime/cam/onestage-merge.ts).
import { mergeOneStageMasks, predictedLabels, type PaddedMaskView } from '../../../runtime/cam/onestage-merge.ts';
import type { GoldenImpl } from '../vector.ts';

export const run: GoldenImpl = (v) => {
  const { masks, pads, cls_raw, image_hw } = v.inputs;
  const [nViews, c, ph, pw] = masks.shape;
  const scales = v.params.scales as number[];
  const n = c * ph * pw;
  const all = Float32Array.from(masks.data);
  const nCls = cls_raw.shape[1];
  const scores = Array.from({ length: nViews }, (_, i) => Float32Array.from(cls_raw.data.slice(i * nCls, (i + 1) * nCls)));
  const labels = predictedLabels(scores, v.params.fp_cut_score as number);
  const views: PaddedMaskView[] = Array.from({ length: nViews }, (_, i) => ({
    data: all.subarray(i * n, (i + 1) * n),
    channels: c,
    paddedH: ph,
    paddedW: pw,
    pad: pads.data.slice(i * 4, i * 4 + 4) as [number, number, number, number],
    scale: scales[i >> 1],
    flipped: i % 2 === 1,
  }));
  const [H, W] = image_hw.data;
  const { merged, pred } = mergeOneStageMasks(views, labels, H, W, v.params.bg_pow as number);
  return {
    labels: { shape: [nCls], data: labels },
    merged: { shape: [c, H, W], data: merged },
    pred: { shape: [H, W], data: pred },
  };
};
