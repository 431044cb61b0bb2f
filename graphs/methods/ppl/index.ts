// Progressive Patch Learning (Li et al., IEEE TMM 2022; no released code, the paper is the
// specification): patch learning at one stage ('single', Table VI), implicit progressive
// training (Algorithm 1: one destruction per step, moving up, freezing what lies below) and
// explicit multi-branch fusion (§III-D: an undestructed classifier first, then every branch at
// once, each branch's gradient stopped below its destruction point). The default, the paper's
// best, is explicit; the benchmark trains 'single' and 'implicit' beside it.
//
// Branch positions and K are per backbone (README, "PPL on cam-tiny"): ResNet gets the paper's
// (before stages 2, 3, 4 = after layer1, layer2, layer3; K = 2, 4, 6; single: before stage 3,
// K = 4, Table VI's best); cam-tiny gets conv3 (K = 2) and conv4 (K = 4), single conv4 (K = 4),
// chosen from its feature-map sizes and receptive fields, not from benchmark results.

import { createFeatureBackbone, featureBackboneBase } from '../../backbones/index.ts';
import { camMethod } from '../cam/index.ts';
import type { MethodDef, OptionValue, TrainingStage } from '../method.ts';
import { PplNet, pplGraph, type BranchSpec } from './model.ts';

export type PplMode = 'single' | 'implicit' | 'explicit';

/** Default branches per backbone family: [progressive positions and K, single-stage position and K]. */
const DEFAULTS: Record<string, { progressive: BranchSpec[]; single: BranchSpec }> = {
  'cam-tiny': {
    progressive: [
      { position: 'conv3', k: 2 },
      { position: 'conv4', k: 4 },
    ],
    single: { position: 'conv4', k: 4 },
  },
  resnet: {
    progressive: [
      { position: 'layer1', k: 2 },
      { position: 'layer2', k: 4 },
      { position: 'layer3', k: 6 },
    ],
    single: { position: 'layer2', k: 4 },
  },
};

/** The branches of a run: the options' `positions`/`k` lists, or the backbone's defaults ('auto'). */
export function branchSpecs(backbone: string, options: Record<string, OptionValue>): BranchSpec[] {
  const mode = options.mode as PplMode;
  const positions = String(options.positions);
  const ks = String(options.grid);
  if ((positions === 'auto') !== (ks === 'auto')) throw new Error('ppl: give --positions and --grid together (or neither)');
  if (positions === 'auto') {
    const d = DEFAULTS[featureBackboneBase(backbone).startsWith('resnet') ? 'resnet' : 'cam-tiny'];
    return mode === 'single' ? [d.single] : d.progressive;
  }
  const p = positions.split(',').map((s) => s.trim());
  const k = ks.split(',').map((s) => Number(s.trim()));
  if (p.length !== k.length) throw new Error(`ppl: --positions has ${p.length} entries, --grid ${k.length}`);
  if (mode === 'single' && p.length !== 1) throw new Error(`ppl: mode single takes one position, got ${p.length}`);
  return p.map((position, i) => ({ position, k: k[i] }));
}

/** Epochs of each of n parts of a run of `epochs` (the earlier parts take the remainder). */
export function splitEpochs(epochs: number, parts: number): number[] {
  if (epochs < parts) throw new Error(`ppl: ${parts} training steps need at least ${parts} epochs, got ${epochs}`);
  return Array.from({ length: parts }, (_, i) => Math.floor(epochs / parts) + (i < epochs % parts ? 1 : 0));
}

/** Which branches a stage runs and whether their inputs are cut from the gradient. */
interface StagePlan {
  stage: TrainingStage;
  active: number[];
  detach: boolean;
}

/** The undestructed classifier trained alone (explicit's first stage, implicit's stand-in for pretrained weights). */
function classifierStage(epochs: number): StagePlan {
  return { stage: { name: 'classifier', epochs, frozen: ['branches.**'], losses: ['cls'] }, active: [], detach: false };
}

/**
 * @param explicitClassifierShare explicit: share of the epochs for the undestructed classifier before the branches join
 * @param implicitClassifierShare implicit: share of the epochs for the undestructed classifier before step 1 (0 = none)
 */
export function stagePlans(net: PplNet, mode: PplMode, epochs: number, explicitClassifierShare: number, implicitClassifierShare = 0): StagePlan[] {
  const n = net.branches.length;
  const all = net.branches.map((_, i) => i);
  const others = (j: number) => all.filter((i) => i !== j).map((i) => `branches.${i}.**`);
  if (mode === 'single') return [{ stage: { name: 'patch-learning', epochs, frozen: [], losses: ['cls'] }, active: all, detach: false }];
  if (mode === 'implicit') {
    // Algorithm 1, line 1 starts from ImageNet weights. A backbone without them (cam-tiny) first
    // trains the plain classifier, so that the steps fine-tune a trained network as in the paper
    // ("5 epochs for finetuning the classification network") rather than one fixed after a few epochs from random.
    const first = implicitClassifierShare > 0 ? Math.max(1, Math.round(epochs * implicitClassifierShare)) : 0;
    if (first && epochs - first < n) throw new Error(`ppl: implicit with a classifier stage of ${first} epochs and ${n} steps needs at least ${first + n} epochs, got ${epochs}`);
    const per = splitEpochs(epochs - first, n);
    const steps = net.branches.map((b, j) => ({
      // Algorithm 1: step 1 trains everything; step j > 1 starts from step j−1's model and fixes every layer before the destructed stage.
      stage: { name: `step${j + 1}-${b.spec.position}-k${b.spec.k}`, epochs: per[j], frozen: [...(j ? net.chain.paramsUpTo(b.spec.position) : []), ...others(j)], losses: ['cls'] },
      active: [j],
      detach: false,
    }));
    return first ? [classifierStage(first), ...steps] : steps;
  }
  const first = Math.min(epochs - 1, Math.max(1, Math.round(epochs * explicitClassifierShare)));
  if (epochs < 2) throw new Error(`ppl: explicit fusion needs at least 2 epochs (classifier, then fusion), got ${epochs}`);
  return [
    classifierStage(first),
    { stage: { name: 'explicit', epochs: epochs - first, frozen: [], losses: ['cls'] }, active: all, detach: true },
  ];
}

/** `--implicit-classifier-share`: a share in [0, 1), or 'auto' (0.5 for a backbone with no pretrained weights, else 0). */
export function implicitClassifierShare(backbone: string, value: string): number {
  if (value === 'auto') return featureBackboneBase(backbone).startsWith('cam-tiny') ? 0.5 : 0;
  const v = Number(value);
  if (value.trim() === '' || !(v >= 0 && v < 1)) throw new Error(`ppl: --implicit-classifier-share must be 'auto' or a number in [0, 1), got ${value}`);
  return v;
}

/** The branches the exported model fuses: implicit keeps only the last step's (Algorithm 1, line 15). */
export function inferenceBranches(net: PplNet, mode: PplMode): number[] {
  const all = net.branches.map((_, i) => i);
  return mode === 'implicit' ? [all[all.length - 1]] : all;
}

export const pplMethod: MethodDef = {
  name: 'ppl',
  title: 'Progressive Patch Learning',
  paper: 'Li et al., "Weakly Supervised Semantic Segmentation via Progressive Patch Learning", IEEE TMM 2022',
  description: 'features cut into K×K patches, each run through the following stages alone (φ1, φ2 3×3), merged and concatenated with the undestructed features; implicit (progressive steps) or explicit (multi-branch) fusion; CAM = mean of the groups’ max-normalised CAMs',
  backbones: ['cam-tiny', 'resnet50', 'resnet101'],
  options: {
    mode: { type: 'string', default: 'explicit', choices: ['single', 'implicit', 'explicit'], describe: "'single' stage patch learning, 'implicit' progressive steps, 'explicit' multi-branch fusion" },
    positions: { type: 'string', default: 'auto', describe: "comma-separated taps whose output is destructed ('auto': cam-tiny conv3,conv4 / single conv4; ResNet layer1,layer2,layer3 / single layer2)" },
    grid: { type: 'string', default: 'auto', describe: "K, patches per side at each position ('auto': cam-tiny 2,4 / single 4; ResNet 2,4,6 / single 4)" },
    'explicit-classifier-share': { type: 'number', default: 0.5, describe: 'explicit: share of the epochs spent training the undestructed classifier before the branches join' },
    'implicit-classifier-share': { type: 'string', default: 'auto', describe: "implicit: share of the epochs spent training the undestructed classifier before step 1, standing in for Algorithm 1's ImageNet initialisation ('auto': 0.5 on cam-tiny, which has no pretrained weights; 0 on ResNet, whose steps start from ImageNet weights)" },
    'new-lr-mult': { type: 'number', default: 10, describe: 'learning-rate multiplier of the added layers (classifier slices, φ1, φ2); the paper uses 10' },
  },
  variants: { single: { mode: 'single' }, implicit: { mode: 'implicit' } },
  trainingDefaults: (backbone) => camMethod.trainingDefaults(backbone),
  build({ backbone, classNames, options }) {
    const mode = options.mode as PplMode;
    const net = new PplNet(createFeatureBackbone(backbone), classNames.length, branchSpecs(backbone, options)).finalise();
    const share = options['explicit-classifier-share'] as number;
    if (!(share > 0 && share < 1)) throw new Error(`ppl: --explicit-classifier-share must be in (0, 1), got ${share}`);
    const implicitShare = implicitClassifierShare(backbone, String(options['implicit-classifier-share']));
    const plans = new Map<string, StagePlan>();
    const mult = options['new-lr-mult'] as number;
    return {
      module: net,
      graph: pplGraph(net, `ppl-${mode}-${backbone}`, classNames, inferenceBranches(net, mode)),
      training(ops, batch, ctx) {
        const plan = plans.get(ctx.stage.name);
        if (!plan) throw new Error(`ppl: unknown training stage '${ctx.stage.name}'`);
        return net.training(ops, batch.image, batch.labels, plan.active, plan.detach);
      },
      paramGroups: [
        { label: 'head', pattern: 'head.**', lrMult: mult },
        { label: 'branch-classifiers', pattern: 'branches.*.classifier.**', lrMult: mult },
        { label: 'phi', pattern: 'branches.*.phi*.**', lrMult: mult },
      ],
      stages(epochs) {
        const ps = stagePlans(net, mode, epochs, share, implicitShare);
        plans.clear();
        for (const p of ps) plans.set(p.stage.name, p);
        return ps.map((p) => p.stage);
      },
    };
  },
};
