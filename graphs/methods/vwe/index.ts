// Visual Words + HSPP (Ru et al., IJCAI'21): the CAM classifier made to also predict each image's
// visual words — a codebook over its own features — so it has to use more of an object than its
// most discriminative part, with hybrid spatial pyramid pooling before the image classifier.
// Defaults are the paper's (K = 256 words — 32 on the benchmark's small net —, mean word frequencies, two-branch CAM, three losses with
// weight 1, new layers ×10 learning rate); the official code's choices are options (sum
// frequencies, image-branch CAM, detached stage 2 and frozen batch norms on ResNets, v2's
// decorrelation term). The benchmark's ablations are Table 1's rows.

import { createFeatureBackbone, FEATURE_BACKBONES } from '../../backbones/index.ts';
import type { MethodDef, OptionValue, TrainingHyper } from '../method.ts';
import { VweNet, vweGraph, type VweCam, type VweConfig } from './model.ts';
import type { WordFrequency } from './visual-words.ts';

const SMALL_NET: TrainingHyper = { epochs: 12, batch: 16, lr: 0.05, crop: 64, momentum: 0.9, weightDecay: 1e-4, warmup: 20 };
// Pretrained ImageNet backbones: the paper's (and IRNet's) lr 0.01 for the backbone, batch 16, 6 epochs.
const IMAGENET_NET: TrainingHyper = { epochs: 6, batch: 16, lr: 0.01, crop: 320, momentum: 0.9, weightDecay: 1e-4, warmup: 0 };

/** What the official code detaches: the output of ResNet stage 2 (stem, layer1, layer2 get no gradient). */
const RESNET_STAGES_1_2 = ['backbone.conv1.**', 'backbone.bn1.**', 'backbone.layer1.**', 'backbone.layer2.**'];

/**
 * K when --words-k is 0 (its default): the paper's 256 words for 2048-d ImageNet features; 32 on the
 * benchmark's cam-tiny (64-d features, 6 classes), the codebook size the prototype was
 * calibrated with there, and an eighth of the cost of 256 words per step on this net.
 */
export function defaultWordCount(backbone: string): number {
  return backbone.startsWith('cam-tiny') ? 32 : 256;
}

export function vweConfig(options: Record<string, OptionValue>, backbone: string): VweConfig {
  const words = (options['words-k'] as number) || defaultWordCount(backbone);
  if (!Number.isInteger(words) || words < 1) throw new Error(`method vwe: --words-k must be a positive integer (0: by backbone), got ${words}`);
  return {
    words: options.words as boolean,
    wordCount: words,
    frequency: options['word-frequency'] as WordFrequency,
    hspp: options.hspp as boolean,
    hsppGamma: options['hspp-gamma'] as number,
    cam: options.cam as VweCam,
    w2iWeight: options['w2i-weight'] as number,
    wordWeight: options['word-weight'] as number,
    decovWeight: options['decov-weight'] as number,
  };
}

export const vweMethod: MethodDef = {
  name: 'vwe',
  title: 'Visual Words + HSPP',
  paper: 'Ru et al., "Learning Visual Words for Weakly-Supervised Semantic Segmentation", IJCAI 2021',
  description: 'codebook of visual words (cosine, softmax), word-to-image and word classifiers, HSPP pooling; CAM = max(image CAM, word CAM)',
  backbones: Object.keys(FEATURE_BACKBONES),
  options: {
    words: { type: 'boolean', default: true, describe: 'the visual-word encoder and its two losses (false: Table 1 without VWE)' },
    hspp: { type: 'boolean', default: true, describe: 'HSPP before the image classifier (false: GAP, Table 1 without HSPP)' },
    'words-k': { type: 'number', default: 0, describe: 'codebook size K; 0: by backbone, the paper\'s 256, or 32 on cam-tiny' },
    'word-frequency': { type: 'string', default: 'mean', choices: ['mean', 'sum'], describe: "word frequencies: the paper's mean of the assignment over pixels, or the code's sum" },
    cam: { type: 'string', default: 'two-branch', choices: ['two-branch', 'image', 'words'], describe: "CAM: the paper's max of image and word branches, the code's image branch only, or the word branch alone (a diagnostic)" },
    'hspp-gamma': { type: 'number', default: 2, describe: 'HSPP weight γ of the global average (divisor γ + 3)' },
    'w2i-weight': { type: 'number', default: 1, describe: 'weight of the word-to-image loss' },
    'word-weight': { type: 'number', default: 1, describe: 'weight of the word loss' },
    'decov-weight': { type: 'number', default: 0, describe: "weight of v2's codebook decorrelation loss (0: off, as v1 and the paper)" },
    'head-lr-mult': { type: 'number', default: 10, describe: 'learning-rate multiplier of the new layers: classifiers and codebook (the paper: 0.1 vs 0.01)' },
    'frozen-bn': { type: 'boolean', default: false, describe: "the code's backbone batch norms with fixed statistics (ResNets, resnet38d, mobilenet_v2)" },
    'detach-stage2': { type: 'boolean', default: false, describe: "the code's detached ResNet stage 2: stem, layer1 and layer2 are not trained" },
  },
  variants: {
    'words-only': { hspp: false },
    'hspp-only': { words: false },
  },
  trainingDefaults: (backbone) => (backbone.startsWith('cam-tiny') ? SMALL_NET : IMAGENET_NET),
  build({ backbone, classNames, options }) {
    const cfg = vweConfig(options, backbone);
    const detach = options['detach-stage2'] as boolean;
    if (detach && !/^resnet(50|101)/.test(backbone)) throw new Error(`method vwe: --detach-stage2 applies to resnet50/resnet101 backbones (the official code's), not ${backbone}`);
    const net = new VweNet(createFeatureBackbone(backbone, { frozenBn: options['frozen-bn'] as boolean }), classNames.length, cfg).finalise();
    const lrMult = options['head-lr-mult'] as number;
    return {
      module: net,
      graph: vweGraph(net, `vwe-${backbone}`, classNames),
      training: (ops, batch) => net.training(ops, batch),
      paramGroups: ['head', 'words', 'w2i', 'word_classifier'].map((m) => ({ label: m, pattern: `${m}.**`, lrMult })),
      stages: (epochs) => [{ name: 'classification', epochs, frozen: detach ? RESNET_STAGES_1_2 : [], losses: net.lossNames() }],
    };
  },
};
