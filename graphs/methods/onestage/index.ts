// Single-Stage (Araslanov & Roth, CVPR'20): one segmentation network trained from image labels —
// nGWP class scores with the focal mask-size penalty, and, after a classification-only warm-up,
// the class-balanced cross-entropy on pseudo ground truth from PAMR-refined masks. SG + GCI mix
// shallow cues into the deep features. Variant 'no-sg-gci' is the paper's ablation without them.
//
// Warm-up: the paper trains 5 of 24 epochs without the mask loss; a run of E epochs keeps the same
// fraction, round(E·5/24) epochs (6 → 1, 12 → 3, 24 → 5).

import { positiveIntList } from '../option-lists.ts';
import { createFeatureBackbone, FEATURE_BACKBONES } from '../../backbones/index.ts';
import { atrousRates } from '../../onestage/aspp.ts';
import { PAMR_DILATIONS, PAMR_ITERATIONS } from '../../onestage/pamr.ts';
import { SG_PSI } from '../../onestage/stochastic-gate.ts';
import type { MethodDef, TrainingHyper, TrainingStage } from '../method.ts';
import { OneStageNet, oneStageGraph } from './model.ts';

// cam-tiny from scratch: the CAM baseline's recipe, so the rows differ by the method only.
const SMALL_NET: TrainingHyper = { epochs: 12, batch: 16, lr: 0.05, crop: 64, momentum: 0.9, weightDecay: 1e-4, warmup: 20 };
// Pretrained backbones: 1-stage-wseg's configs (SGD lr 0.001, wd 5e-4, batch 16, crop 321, 24 epochs).
const IMAGENET_NET: TrainingHyper = { epochs: 24, batch: 16, lr: 0.001, crop: 321, momentum: 0.9, weightDecay: 5e-4, warmup: 0 };

/** The paper's warm-up: 5 of 24 epochs. */
export function warmupEpochs(epochs: number): number {
  return Math.min(epochs, Math.round((epochs * 5) / 24));
}

export function oneStageStages(epochs: number): TrainingStage[] {
  const w = warmupEpochs(epochs);
  const stages: TrainingStage[] = [];
  if (w > 0) stages.push({ name: 'classification', epochs: w, frozen: [], losses: ['cls'] });
  if (epochs - w > 0) stages.push({ name: 'segmentation', epochs: epochs - w, frozen: [], losses: ['cls', 'mask'] });
  return stages;
}

/** ASPP rates: the paper's 12, 24, 36 at output stride 8, scaled for the backbone (cam-tiny: 5, 9, 14). */
function defaultAsppRates(backbone: string, outputStride: number): number[] {
  return atrousRates([12, 24, 36], backbone, outputStride);
}

export const oneStageMethod: MethodDef = {
  name: 'onestage',
  title: 'Single-Stage (1-Stage)',
  paper: 'Araslanov & Roth, "Single-Stage Semantic Segmentation from Image Labels", CVPR 2020',
  description: 'segmentation net (ASPP + stride-4 skip), nGWP + focal penalty, PAMR → pseudo-GT → balanced CE, Stochastic Gate + GCI',
  backbones: Object.keys(FEATURE_BACKBONES),
  options: {
    sg: { type: 'boolean', default: true, describe: 'Global Cue Injection + Stochastic Gate (false: the ablation without them)' },
    psi: { type: 'number', default: SG_PSI, describe: 'Stochastic Gate ψ' },
    width: { type: 'number', default: 0, describe: 'channels of ASPP / decoder / GCI (0: 256; 32 on cam-tiny, whose features have 64, to keep a step within ~2–4× of CAM on 2 cores); the skip gets 48/256 of it' },
    'aspp-rates': { type: 'string', default: '', describe: 'three ASPP dilation rates (empty: by output stride; cam-tiny 5,9,14)' },
    'pamr-dilations': { type: 'string', default: PAMR_DILATIONS.join(','), describe: 'PAMR dilations in the mask loss' },
    'pamr-iters': { type: 'number', default: PAMR_ITERATIONS, describe: 'PAMR iterations in the mask loss' },
    'head-lr-mult': {
      type: 'number',
      default: 0,
      describe:
        'learning-rate multiplier of everything but the backbone (0: the paper\'s 10 over a pretrained backbone; 1 on cam-tiny, which trains from scratch and whose base rate 0.05 ×10 stalled the deep segmentation head: classification loss 0.5 after 6 epochs, 91 % of images without pseudo ground truth)',
    },
  },
  variants: { 'no-sg-gci': { sg: false } },
  trainingDefaults: (backbone) => (backbone.startsWith('cam-tiny') ? SMALL_NET : IMAGENET_NET),
  build({ backbone, classNames, options }) {
    const bb = createFeatureBackbone(backbone);
    const width = (options.width as number) || (backbone.startsWith('cam-tiny') ? 32 : 256);
    if (!Number.isInteger(width) || width < 1) throw new Error(`onestage: --width must be a positive integer, got ${width}`);
    const rates = (options['aspp-rates'] as string) ? positiveIntList(options['aspp-rates'] as string, 'onestage', 'aspp-rates') : defaultAsppRates(backbone, bb.outputStride);
    const psi = options.psi as number;
    if (!(psi > 0 && psi < 1)) throw new Error(`onestage: --psi must be in (0, 1), got ${psi}`);
    const headLrMult = (options['head-lr-mult'] as number) || (backbone.startsWith('cam-tiny') ? 1 : 10);
    if (!(headLrMult > 0)) throw new Error(`onestage: --head-lr-mult must be positive, got ${options['head-lr-mult']}`);
    const iters = options['pamr-iters'] as number;
    if (!Number.isInteger(iters) || iters < 0) throw new Error(`onestage: --pamr-iters must be a non-negative integer, got ${iters}`);
    const net = new OneStageNet(bb, classNames.length, {
      width,
      skipWidth: Math.max(1, Math.round((width * 48) / 256)),
      asppRates: rates,
      sg: options.sg as boolean,
      psi,
      pamrDilations: positiveIntList(options['pamr-dilations'] as string, 'onestage', 'pamr-dilations'),
      pamrIterations: iters,
    }).finalise();
    return {
      module: net,
      graph: oneStageGraph(net, `onestage-${backbone}`, classNames),
      training: (ops, batch, ctx) => net.training(ops, batch, ctx.stage.losses.includes('mask')),
      paramGroups: ['aspp', 'fc8_skip', 'fc8_x', 'gci', 'last_conv'].map((m) => ({ label: 'head', pattern: `${m}.**`, lrMult: headLrMult })),
      stages: oneStageStages,
    };
  },
};
