// EDAM (Wu et al., "Embedded Discriminative Attention Mechanism for Weakly Supervised Semantic
// Segmentation", CVPR 2021): a Discriminative Activation layer (one mask per class) trained
// through Collaborative Multi-Attention over pairs of images that share a class; inference CAMs
// are the DA masks summed over scales and flips and divided by their max without epsilon
// (SPEC.md §3.4); Algorithm 1 turns them into labels with a saliency map when one is given
// (`wsss pseudo-label --saliency DIR`), the parameters of both rules in the model's label rule.

import { TAP_FINAL } from '../../backbones/backbone.ts';
import { createFeatureBackbone, FEATURE_BACKBONES, featureBackboneBase, SIGNED_FINAL_BACKBONES } from '../../backbones/index.ts';
import type { LabelRuleSpec, MethodDef, OptionValue, TrainingHyper } from '../method.ts';
import { makePairBatchSampler } from './pair-sampler.ts';
import { EdamNet, edamGraph } from './model.ts';
import { SALIENCY_RULES } from '../../../runtime/cam/saliency-fusion.ts';

// The CAM baseline's schedules (graphs/methods/cam/index.ts), so the two compare at equal cost.
const SMALL_NET: TrainingHyper = { epochs: 12, batch: 16, lr: 0.05, crop: 64, momentum: 0.9, weightDecay: 1e-4, warmup: 20 };
const IMAGENET_NET: TrainingHyper = { epochs: 5, batch: 16, lr: 0.01, crop: 320, momentum: 0.9, weightDecay: 1e-4, warmup: 0 };

/** The label rule of an EDAM model: the merge of SPEC §3.4 and Algorithm 1's parameters. */
export function edamLabelRule(options: Record<string, OptionValue>): LabelRuleSpec {
  return {
    kind: 'multiscale-cam',
    merge: 'sum',
    norm_eps: 0,
    bg_threshold: options['bg-threshold'],
    saliency: { rule: options['saliency-rule'], theta: options['saliency-theta'], alpha: options['saliency-alpha'], beta: options['saliency-beta'] },
  };
}

export const edamMethod: MethodDef = {
  name: 'edam',
  title: 'EDAM: DA layer + Collaborative Multi-Attention',
  paper: 'Wu et al., "Embedded Discriminative Attention Mechanism for Weakly Supervised Semantic Segmentation", CVPR 2021',
  description: 'DA layer (K+1 masks, L2 across masks, abs) trained through per-class transformers over image pairs sharing a class; CAMs = multi-scale sum of the DA masks /max; Alg. 1 saliency fusion',
  backbones: Object.keys(FEATURE_BACKBONES),
  options: {
    'trunk-relu': { type: 'boolean', default: false, describe: `ReLU after the trunk's last batch norm; false: the official code's trunk (bn7 without its ReLU, so the DA layer and CMA see signed features) on ${SIGNED_FINAL_BACKBONES.join(' and ')}; other backbones end without a BN to stop at and keep their final ReLU` },
    cma: { type: 'boolean', default: true, describe: 'train the DA layer through CMA (per-class transformers over image pairs); --no-cma: per-class classifiers on GAP(F·M_k) (the "+ DA" ablation)' },
    'cma-dim': { type: 'number', default: 0, describe: "CMA token width d; 0 = min(128, half the backbone's feature channels): the official 128 on ResNet-38's 4096 channels, 32 on cam-tiny's 64" },
    'cma-heads': { type: 'number', default: 2, describe: 'attention heads (official 2)' },
    'cma-layers': { type: 'number', default: 1, describe: 'transformer blocks per class (official 1)' },
    'cma-pool': { type: 'number', default: 4, describe: 'average-pool the class-specific maps by this factor before they become tokens (1 = every feature-map position, as the official code; each doubling makes attention 16× cheaper: 4 is the default so that CMA trains on a 2-core CPU in the benchmark, see README)' },
    'cma-dropout': { type: 'number', default: 0.1, describe: 'dropout in CMA (official 0.1)' },
    'cma-sample-num': { type: 'number', default: 0, describe: 'classes per pair in CMA: present ones, then random absent ones up to this many (0 = all classes, as the official 20 of 20)' },
    'head-lr-mult': { type: 'number', default: 10, describe: 'learning-rate multiplier of the new layers (DA layer and CMA), as the CAM head' },
    'bg-threshold': { type: 'number', default: 0.5, describe: 'background score without a saliency map (infer_cls.py default θ = 0.5)' },
    'saliency-rule': { type: 'string', default: 'paper', choices: [...SALIENCY_RULES], describe: "Alg. 1 with a saliency map: 'paper' (salient where S ≥ θ; argmax class, α/β tests) or 'code' (infer_cls.py: background where S ≤ θ, clamp ±2 and argmax)" },
    'saliency-theta': { type: 'number', default: 20, describe: 'θ on the 0–255 saliency map (paper 20; the code compares with θ·100, README θ = 0.2 → 20)' },
    'saliency-alpha': { type: 'number', default: 0.25, describe: 'α: salient pixels whose best class is below α become background (paper 0.25; README 1e-6)' },
    'saliency-beta': { type: 'number', default: 0.95, describe: 'β: non-salient pixels whose best class exceeds β keep it (paper 0.95; README 0.99999)' },
  },
  variants: { da: { cma: false } },
  labelVariants: { saliency: { pseudoLabelFlags: ['--saliency', '{data}/SaliencyMaps'] } },
  trainingDefaults: (backbone) => (backbone.startsWith('cam-tiny') ? SMALL_NET : IMAGENET_NET),
  build({ backbone, classNames, options }) {
    // SPEC §3.1: the official trunk ends at bn7 with its ReLU commented out. It matters: on
    // post-ReLU features the class scores fc_k·GAP(X ⊙ M_k) can be met by GAP(X) under masks
    // that select nothing, and on the benchmark the "+ DA" net then did not learn from scratch;
    // BN's signed output averages out unless a mask picks where it points the class's way
    // (README, EDAM).
    const signed = !options['trunk-relu'] && SIGNED_FINAL_BACKBONES.includes(featureBackboneBase(backbone));
    const backboneNet = createFeatureBackbone(backbone, signed ? { finalRelu: false } : {});
    const dim = (options['cma-dim'] as number) || Math.min(128, Math.max(1, Math.floor(backboneNet.tap(TAP_FINAL).channels / 2)));
    const heads = options['cma-heads'] as number;
    for (const [name, v, min] of [['cma-dim', dim, 1], ['cma-heads', heads, 1], ['cma-layers', options['cma-layers'], 1], ['cma-pool', options['cma-pool'], 1], ['cma-sample-num', options['cma-sample-num'], 0]] as const)
      if (!Number.isInteger(v) || (v as number) < min) throw new Error(`method edam: --${name} must be an integer ≥ ${min}, got ${options[name]}`);
    if (dim % heads) throw new Error(`method edam: --cma-dim ${dim} must be a multiple of --cma-heads ${heads}`);
    const dropout = options['cma-dropout'] as number;
    if (!(dropout >= 0 && dropout < 1)) throw new Error(`method edam: --cma-dropout must be in [0, 1), got ${dropout}`);
    const attention = options.cma as boolean;
    const net = new EdamNet(backboneNet, classNames.length, {
      dim,
      attention,
      heads,
      layers: options['cma-layers'] as number,
      ffHidden: 4 * dim,
      dropout,
      sampleNum: options['cma-sample-num'] as number,
      pool: options['cma-pool'] as number,
    }).finalise();
    return {
      module: net,
      graph: edamGraph(net, `edam-${backbone}`, classNames, edamLabelRule(options)),
      training: (ops, batch, ctx) => net.training(ops, batch, ctx),
      paramGroups: [
        { label: 'DA layer', pattern: 'mask_layer.**', lrMult: options['head-lr-mult'] as number },
        { label: 'CMA', pattern: 'cma.**', lrMult: options['head-lr-mult'] as number },
      ],
      stages: (epochs) => [{ name: 'classification', epochs, frozen: [], losses: ['cls'] }],
      ...(attention ? { batchSampler: makePairBatchSampler() } : {}),
    };
  },
};
