// Grad-CAM + saliency (Xu et al., seed 004): a classifier with a fully connected head trained on
// image-level labels (multilabel soft-margin), Grad-CAM maps from the head's gradients computed
// inside the graph (./model.ts), fused at pseudo-labelling time with class-agnostic saliency by
// the paper's Algorithm 1 (runtime/saliency/fuse.ts, `wsss pseudo-label --fuse-saliency`).
//
// Backbones: the benchmark's cam-tiny with one hidden layer (so Grad-CAM differs from CAM), and
// the feature backbones with the paper's fc6/fc7 (4096, 4096) after global average pooling.

import { createFeatureBackbone, FEATURE_BACKBONES } from '../../backbones/index.ts';
import type { MethodDef, TrainingHyper } from '../method.ts';
import { GradCamNet, gradCamGraph } from './model.ts';

// The benchmark's net: the CAM baseline's settings, so the two rows differ by the head only.
const SMALL_NET: TrainingHyper = { epochs: 12, batch: 16, lr: 0.05, crop: 64, momentum: 0.9, weightDecay: 1e-4, warmup: 20 };
// The paper (§3): 224 crops and flips, 15 epochs, batch 30, lr 0.001 (×10 on the last layer). Its ÷10 every 6
// epochs is not offered by the trainer (poly decay only); poly over 15 epochs is used instead.
// Momentum and weight decay are not given in the paper: SGD 0.9 and 5e-4 as VGG-16 was trained.
const PAPER_NET: TrainingHyper = { epochs: 15, batch: 30, lr: 0.001, crop: 224, momentum: 0.9, weightDecay: 5e-4, warmup: 0 };

/**
 * Hidden widths of the head: the option's comma list, or for 'auto' one layer of 128 on cam-tiny
 * and the paper's fc6, fc7 (4096, 4096) otherwise, divided like the backbone by its -w<N> suffix.
 */
export function hiddenWidths(option: string, backbone: string): number[] {
  if (option === 'auto') {
    const divisor = Number(/-w(\d+)/.exec(backbone)?.[1] ?? 1);
    return (backbone.startsWith('cam-tiny') ? [128] : [4096, 4096]).map((w) => Math.max(4, Math.round(w / divisor)));
  }
  const widths = option.split(',').map((s) => Number(s.trim()));
  if (!widths.length || widths.some((w) => !Number.isInteger(w) || w < 1))
    throw new Error(`method gradcam: --hidden must be 'auto' or a comma list of positive integers, got '${option}'`);
  return widths;
}

export const gradcamMethod: MethodDef = {
  name: 'gradcam',
  title: 'Grad-CAM + saliency',
  paper: 'Xu et al., "An Improved Approach to Weakly Supervised Semantic Segmentation", ICASSP (seed 004), §2.1; Grad-CAM: Selvaraju et al., ICCV 2017',
  description: 'GAP + fully connected head; Grad-CAM maps computed in the graph; Algorithm 1 fusion with saliency at pseudo-labelling (--fuse-saliency)',
  backbones: Object.keys(FEATURE_BACKBONES),
  options: {
    hidden: { type: 'string', default: 'auto', describe: "hidden fully connected widths after pooling, e.g. '4096,4096' (auto: 128 on cam-tiny, 4096,4096 (fc6, fc7) otherwise)" },
    dropout: { type: 'number', default: 0.5, describe: 'dropout after each hidden layer in training' },
    'head-lr-mult': { type: 'number', default: 10, describe: 'learning-rate multiplier of the last (class) layer (the paper: 0.01 vs 0.001)' },
  },
  // The paper's comparison on one trained model: Grad-CAM alone (the row 'gradcam'), saliency
  // alone, and Algorithm 1 (Grad-CAM + saliency), all from the data set's SaliencyMaps/.
  labelVariants: {
    'saliency-only': { pseudoLabelFlags: ['--saliency-only'] },
    'fuse-saliency': { pseudoLabelFlags: ['--fuse-saliency'] },
  },
  trainingDefaults: (backbone) => (backbone.startsWith('cam-tiny') ? SMALL_NET : PAPER_NET),
  build({ backbone, classNames, options }) {
    const net = new GradCamNet(createFeatureBackbone(backbone), classNames.length, hiddenWidths(options.hidden as string, backbone), options.dropout as number).finalise();
    return {
      module: net,
      graph: gradCamGraph(net, `gradcam-${backbone}`, classNames),
      training: (ops, batch) => net.training(ops, batch),
      paramGroups: [{ label: 'classifier', pattern: 'head.classifier.**', lrMult: options['head-lr-mult'] as number }],
      stages: (epochs) => [{ name: 'classification', epochs, frozen: [], losses: ['cls'] }],
    };
  },
};
