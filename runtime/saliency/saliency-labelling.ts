// Labels from CAMs and a class-agnostic saliency map (0..255, as read by
// runtime/node/files/saliency-map.ts or picked in the web demo), by one of the rules the project
// has, chosen by `rule`:
//   'paper' | 'code': EDAM's Algorithm 1 (runtime/cam/saliency-fusion.ts), θ, α, β — the rule an
//                     EDAM model's label rule names, `wsss pseudo-label --saliency DIR` alone;
//   'fuse':           Xu et al.'s Algorithm 1 (./algorithm1.ts), γ1, γ2 — `--fuse-saliency`;
//   'only':           saliency alone (./saliency-labels.ts) — `--saliency-only`.
// Xu et al.'s thresholds are on [0, 1] saliency, EDAM's θ on 0..255: each rule gets its scale here.
// Isomorphic; one dispatch shared by the model run and `--from-cams`, so both label alike.

import { selectChannels } from '../cam/multiscale.ts';
import { saliencyLabelMap, type SaliencyFusion } from '../cam/saliency-fusion.ts';
import { algorithm1Labels } from './algorithm1.ts';
import { saliencyOnlyLabels } from './saliency-labels.ts';

export type SaliencyLabelling = SaliencyFusion | { rule: 'fuse'; gamma1: number; gamma2: number } | { rule: 'only'; threshold: number };

/**
 * Label map [H·W] (0 = background, c + 1 = class c) from merged, max-normalised CAMs
 * [classes, H·W], the image's 0-based classes `keep` (every class when undefined) and its
 * saliency map (H·W values in 0..255).
 */
export function saliencyLabels(l: SaliencyLabelling, cams: Float32Array, classes: number, saliency: Uint8Array, keep: number[] | undefined): Uint8Array {
  const hw = saliency.length;
  if (cams.length !== classes * hw) throw new Error(`saliency map has ${hw} pixels, the CAMs ${cams.length / classes}`);
  const keys = keep ?? Array.from({ length: classes }, (_, c) => c);
  if (l.rule === 'fuse') return algorithm1Labels(cams, classes, unitSaliency(saliency), keep, l);
  if (l.rule === 'only') return saliencyOnlyLabels(unitSaliency(saliency), keys, l.threshold);
  return saliencyLabelMap(selectChannels(cams, classes, hw, keys), keys, hw, saliency, l);
}

function unitSaliency(saliency: Uint8Array): Float32Array {
  return Float32Array.from(saliency, (v) => v / 255);
}
