// The CAM baseline (Zhou et al., CVPR'16, as the WSSS papers train it): a classifier on
// image-level labels with the multilabel soft-margin loss; CAMs from the classifier's weights.
// One stage, every parameter trained, the new head ×10 learning rate (the papers' rule).

import { createFeatureBackbone, FEATURE_BACKBONES } from '../../backbones/index.ts';
import type { MethodDef, TrainingHyper } from '../method.ts';
import { CamNet, camGraph } from './model.ts';
import { camNamingSchemes } from './name-maps.ts';

const SMALL_NET: TrainingHyper = { epochs: 12, batch: 16, lr: 0.05, crop: 64, momentum: 0.9, weightDecay: 1e-4, warmup: 20 };
// Pretrained ImageNet backbones: IRNet's train_cam settings (lr 0.1 would be for batch 16 at 512 px crops).
const IMAGENET_NET: TrainingHyper = { epochs: 5, batch: 16, lr: 0.01, crop: 320, momentum: 0.9, weightDecay: 1e-4, warmup: 0 };

export const camMethod: MethodDef = {
  name: 'cam',
  title: 'CAM baseline',
  paper: 'Zhou et al., "Learning Deep Features for Discriminative Localization", CVPR 2016',
  description: 'GAP + bias-free 1×1 classifier; CAM = ReLU(W·F), multi-scale + flip, background threshold',
  backbones: Object.keys(FEATURE_BACKBONES),
  options: {
    'head-lr-mult': { type: 'number', default: 10, describe: 'learning-rate multiplier of the classifier head (the papers use 10)' },
  },
  // 'CAM + PAMR', the first row of 1-Stage's ablation: the same model's CAMs refined by PAMR.
  labelVariants: { pamr: { pseudoLabelFlags: ['--pamr'] } },
  trainingDefaults: (backbone) => (backbone.startsWith('cam-tiny') ? SMALL_NET : IMAGENET_NET),
  namingSchemes: camNamingSchemes,
  build({ backbone, classNames, options }) {
    const net = new CamNet(createFeatureBackbone(backbone), classNames.length).finalise();
    return {
      module: net,
      graph: camGraph(net, backbone.startsWith('cam-tiny') ? backbone : `cam-${backbone}`, classNames),
      training: (ops, batch) => net.training(ops, batch),
      paramGroups: [{ label: 'head', pattern: 'head.**', lrMult: options['head-lr-mult'] as number }],
      stages: (epochs) => [{ name: 'classification', epochs, frozen: [], losses: ['cls'] }],
    };
  },
};
