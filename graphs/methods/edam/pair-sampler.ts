// EDAM's batches: pairs of images that share a class ("two similar images", the paper's default,
// Table 6). A batch of B images is B/2 pairs (2p, 2p+1): the anchors follow the default per-epoch
// shuffle (batch-order.ts, B/2 anchors a step), each anchor's partner is drawn from the images that
// have one of the anchor's classes (the class drawn first, then the image), never the anchor itself.
// An anchor without labels, or whose classes no other image has, gets a random partner. Everything
// is derived from (seed, step): a resumed run draws the same pairs.

import { Rng } from '../../rng.ts';
import { batchIndices } from '../batch-order.ts';
import type { BatchSampler } from '../method.ts';

/** Images of each class: index lists, built once per label set. */
function imagesByClass(labels: Float32Array[]): number[][] {
  const k = labels[0]?.length ?? 0;
  const out: number[][] = Array.from({ length: k }, () => []);
  labels.forEach((l, i) => {
    for (let c = 0; c < k; c++) if (l[c] > 0) out[c].push(i);
  });
  return out;
}

export function makePairBatchSampler(): BatchSampler {
  let cache: { labels: Float32Array[]; byClass: number[][] } | null = null;
  return ({ labels, batch, step, seed }) => {
    if (batch < 2 || batch % 2) throw new Error(`EDAM trains on pairs of images: the batch must be even and at least 2, got ${batch}`);
    if (labels.length < 2) throw new Error(`EDAM trains on pairs of images: ${labels.length} training image(s)`);
    if (cache?.labels !== labels) cache = { labels, byClass: imagesByClass(labels) };
    const byClass = cache.byClass;
    const anchors = batchIndices(labels.length, batch / 2, step, seed);
    const rng = new Rng((seed * 1_000_003 + step) * 7 + 3);
    const out: number[] = [];
    for (const a of anchors) {
      const classes = byClass.flatMap((imgs, c) => (labels[a][c] > 0 && imgs.length > 1 ? [c] : []));
      let partner: number;
      if (classes.length) {
        const imgs = byClass[classes[Math.floor(rng.uniform() * classes.length)]];
        // Uniform over the class's other images: draw from all but one slot, skip the anchor.
        const j = Math.floor(rng.uniform() * (imgs.length - 1));
        partner = imgs[j] === a ? imgs[imgs.length - 1] : imgs[j];
      } else {
        const j = Math.floor(rng.uniform() * (labels.length - 1));
        partner = j >= a ? j + 1 : j;
      }
      out.push(a, partner);
    }
    return out;
  };
}
