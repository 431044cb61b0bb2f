// DeepLab trained on pseudo-labels: the second stage of the seed papers (seeds 000, 001, 002 and
// 004 report their final numbers from it). `wsss train --method deeplab --labels DIR` trains it
// on any method's `wsss pseudo-label` output with pixel-wise cross-entropy (255 ignored):
//   --variant largefov  DeepLab-LargeFOV (vgg16d with fc6 dilated 12, fc8 new)
//   --variant aspp      DeepLab-v2 ASPP (four dilated 3×3 classifiers, rates 6, 12, 18, 24, summed)
//   --variant v3plus    DeepLab-v3+ (ASPP with image pooling + stride-4 skip + decoder)
// and --multi-scale-inputs (scales 1, 0.75, 0.5, max fusion) for any of them. The schedule is
// DeepLab's: poly, 10× learning rate on the new layers, random scale + crop + flip.

import { positiveIntList } from '../option-lists.ts';
import { createFeatureBackbone, FEATURE_BACKBONES, featureBackboneBase } from '../../backbones/index.ts';
import { atrousRates } from '../../onestage/aspp.ts';
import type { MethodDef, TrainingHyper } from '../method.ts';
import { DEEPLAB_VARIANTS, DeepLabNet, deepLabGraph, deepLabLossNames, type DeepLabVariant } from './model.ts';

// cam-tiny from scratch: the CAM baseline's settings but lr 0.01: at CAM's 0.05 (× 10 on the head)
// multi-scale-input training, whose loss sums four cross-entropies (≈ 4× the gradient), collapsed
// to all-background by step 20 on the synthetic set; 0.01 trains both forms (measured, README).
const SMALL_NET: TrainingHyper = { epochs: 12, batch: 16, lr: 0.01, crop: 64, momentum: 0.9, weightDecay: 1e-4, warmup: 20 };
// ImageNet backbones: DeepLab-v2's recipe (lr 2.5e-4, momentum 0.9, wd 5e-4, batch 10, 321 px
// crops, 20k iterations ≈ 19 epochs of VOC train_aug).
const IMAGENET_NET: TrainingHyper = { epochs: 19, batch: 10, lr: 2.5e-4, crop: 321, momentum: 0.9, weightDecay: 5e-4, warmup: 0 };

/** Rates at output stride 8 of each head, as the papers give them. */
const RATES_AT_STRIDE_8: Record<DeepLabVariant, number[]> = { largefov: [12], aspp: [6, 12, 18, 24], v3plus: [12, 24, 36] };

/** Backbones whose batch norms are frozen by default (ImageNet statistics, small batches), as DeepLab-v2 does on ResNet. */
const FROZEN_BN_BY_DEFAULT = ['resnet50', 'resnet101', 'resnet38d', 'mobilenet_v2'];

export const deepLabMethod: MethodDef = {
  name: 'deeplab',
  title: 'DeepLab on pseudo-labels (second stage)',
  paper: 'Chen et al., "DeepLab: Semantic Image Segmentation with Deep Convolutional Nets, Atrous Convolution, and Fully Connected CRFs", TPAMI 2018; "Encoder-Decoder with Atrous Separable Convolution" (v3+), ECCV 2018',
  description: 'segmentation net on per-pixel (pseudo-)labels (--labels DIR, 255 ignored): LargeFOV, ASPP-v2 or v3+; optional multi-scale inputs with max fusion; exported logits, labels by argmax',
  backbones: Object.keys(FEATURE_BACKBONES),
  pixelLabels: true,
  options: {
    variant: { type: 'string', default: 'aspp', choices: [...DEEPLAB_VARIANTS], describe: 'head: largefov (vgg16d), aspp (DeepLab-v2, ResNet), v3plus (ASPP + stride-4 decoder)' },
    'multi-scale-inputs': { type: 'boolean', default: false, describe: 'train and infer on scales 1, 0.75, 0.5 through shared weights, max fusion; loss = the sum of each scale\'s and the fused cross-entropy (four terms: from scratch, give a quarter of the single-scale --lr)' },
    rates: { type: 'string', default: '', describe: 'dilation rates (empty: the paper\'s at output stride 8 — largefov 12, aspp 6,12,18,24, v3plus 12,24,36 — scaled to the backbone; cam-tiny ×16/41)' },
    width: { type: 'number', default: 0, describe: 'channels of LargeFOV fc6/fc7 (0: 1024, 64 on cam-tiny) and of v3+\'s ASPP/decoder (0: 256, 32 on cam-tiny); v3+\'s skip gets 48/256 of it' },
    'batch-norm': { type: 'string', default: 'auto', choices: ['auto', 'frozen', 'train'], describe: 'backbone batch norms: frozen (running statistics, for ImageNet weights and small batches) or trained; auto freezes them on ResNets, WideResNet-38 and MobileNetV2' },
    'head-lr-mult': { type: 'number', default: 10, describe: 'learning-rate multiplier of the new layers (DeepLab: 10)' },
  },
  trainingDefaults: (backbone) => (backbone.startsWith('cam-tiny') ? SMALL_NET : IMAGENET_NET),
  // DeepLab-v2: random scale 0.5–1.5, mirror, crops padded with the mean colour (label 255).
  augment: { scale: [0.5, 1.5], flip: true, imageFill: [124, 116, 104] },
  build({ backbone, classNames, options }) {
    const variant = options.variant as DeepLabVariant;
    const base = featureBackboneBase(backbone);
    const small = base === 'cam-tiny';
    // LargeFOV on vgg16d: the backbone's fc6 takes the head's dilation (12 unless -fc6dil<N> says otherwise).
    const largeFovVgg = variant === 'largefov' && base === 'vgg16d';
    const bn = options['batch-norm'] as string;
    const frozenBn = bn === 'frozen' || (bn === 'auto' && FROZEN_BN_BY_DEFAULT.includes(base));
    if (frozenBn && !FROZEN_BN_BY_DEFAULT.includes(base)) throw new Error(`deeplab: --batch-norm frozen applies to ${FROZEN_BN_BY_DEFAULT.join(', ')} (backbone ${backbone})`);
    const probe = createFeatureBackbone(backbone);
    const rates = (options.rates as string) ? positiveIntList(options.rates as string, 'deeplab', 'rates') : atrousRates(RATES_AT_STRIDE_8[variant], backbone, probe.outputStride);
    const bbName = largeFovVgg && !/-fc6dil\d+/.test(backbone) ? `${backbone}-fc6dil${rates[0]}` : backbone;
    const bb = bbName === backbone && !frozenBn ? probe : createFeatureBackbone(bbName, { frozenBn });
    const width = (options.width as number) || (variant === 'largefov' ? (small ? 64 : 1024) : small ? 32 : 256);
    if (!Number.isInteger(width) || width < 1) throw new Error(`deeplab: --width must be a positive integer, got ${width}`);
    const multiScaleInputs = options['multi-scale-inputs'] as boolean;
    const net = new DeepLabNet(bb, classNames.length, {
      variant,
      rates,
      width,
      skipWidth: Math.max(1, Math.round((width * 48) / 256)),
      backboneHasFc7: largeFovVgg,
      multiScaleInputs,
    }).finalise();
    const losses = deepLabLossNames(multiScaleInputs);
    return {
      module: net,
      graph: deepLabGraph(net, `deeplab-${variant}${multiScaleInputs ? '-msi' : ''}-${backbone}`, classNames),
      training: (ops, batch) => net.training(ops, batch),
      paramGroups: [{ label: 'head', pattern: 'head.**', lrMult: options['head-lr-mult'] as number }],
      stages: (epochs) => [{ name: 'segmentation', epochs, frozen: [], losses }],
    };
  },
};
