// The backbones by name, and their GraphDefs for `wsss export` / `wsss inspect`.
//
// A backbone name is an architecture plus optional suffixes:
//   resnet50 | resnet101 | resnet38d | vgg16 | vgg16d | mobilenet_v2
//   -w<N>       width divided by N (e.g. -w16, the reduced variants the fixtures use)
//   -os<8|16>   ResNet output stride through dilation (torchvision replace_stride_with_dilation)
//   -edam       resnet38d without the final ReLU (EDAM's signed conv6)
//   -fc6dil<N>  vgg16d with fc6 dilation N (psa's affinity net uses 4)
//   -headless   resnet50/101, vgg16, mobilenet_v2 without the ImageNet classifier
//   -nodil      resnet50/101: the strides -os<N> removes are dropped, not turned into dilation
//               (IRNet's CAM network: strides (2, 2, 2, 1), layer4 undilated)
// e.g. 'resnet50-os8', 'resnet38d-w16', 'vgg16d-fc6dil4-w16', 'resnet101-os16-headless'.

import type { GraphDef } from '../graph.ts';
import type { GraphEntry } from '../registry.ts';
import type { Backbone } from './backbone.ts';
import { CamTinyBackbone } from './cam-tiny.ts';
import { MobileNetV2 } from './mobilenet-v2.ts';
import { ResNet } from './resnet.ts';
import { ResNet38d } from './resnet38d.ts';
import { VGG16, VGG16d } from './vgg16.ts';

export { Backbone, TAP_FINAL, TAP_LOW, type StageInfo } from './backbone.ts';
export { ResNet, ResNet38d, VGG16, VGG16d, MobileNetV2, CamTinyBackbone };

export const BACKBONE_ARCHS = ['resnet50', 'resnet101', 'resnet38d', 'vgg16', 'vgg16d', 'mobilenet_v2'] as const;
export type BackboneArch = (typeof BACKBONE_ARCHS)[number];

export interface BackboneOptions {
  /** Channel multiplier (1 = published width). */
  width?: number;
  /** ResNet-50/101 only: 32, 16 or 8. */
  outputStride?: number;
  /** Classifier classes for backbones that have one (default 1000, ImageNet); 0 drops it. */
  numClasses?: number;
  /** Batch norms frozen (running statistics in training, affine parameters untrained). */
  frozenBn?: boolean;
  /** resnet38d: ReLU after bn7 (default true; EDAM: false). */
  finalRelu?: boolean;
  /** vgg16d: fc6 dilation (default 1). */
  fc6Dilation?: number;
  /** ResNet-50/101: turn removed strides into dilation (default true; false: IRNet's layout). */
  dilate?: boolean;
}

export const BACKBONE_DESCRIPTIONS: Record<BackboneArch, string> = {
  resnet50: 'ResNet-50, torchvision layout (stride on the 3×3), output stride 32/16/8',
  resnet101: 'ResNet-101, torchvision layout, output stride 32/16/8',
  resnet38d: 'WideResNet-38 "resnet38d" (AffinityNet / SEAM / 1-Stage / EDAM), output stride 8',
  vgg16: 'VGG-16, torchvision layout with its ImageNet classifier',
  vgg16d: 'VGG-16 DeepLab-LargeFOV variant "vgg16d" (1-Stage / AffinityNet), output stride 8',
  mobilenet_v2: 'MobileNetV2, torchvision layout, for edge deployment',
};

/** Split a backbone name into its architecture and the options its suffixes set. */
export function parseBackboneName(name: string): { arch: BackboneArch; options: BackboneOptions } {
  const arch = [...BACKBONE_ARCHS].sort((a, b) => b.length - a.length).find((a) => name === a || name.startsWith(`${a}-`));
  if (!arch) throw new Error(`unknown backbone '${name}'; known: ${BACKBONE_ARCHS.join(', ')} (with optional -w<N>, -os<8|16>, -edam, -fc6dil<N>, -headless, -nodil)`);
  const options: BackboneOptions = {};
  for (const part of name.slice(arch.length).split('-').filter(Boolean)) {
    let m: RegExpExecArray | null;
    if ((m = /^w(\d+)$/.exec(part))) options.width = 1 / Number(m[1]);
    else if ((m = /^os(8|16|32)$/.exec(part)) && arch.startsWith('resnet') && arch !== 'resnet38d') options.outputStride = Number(m[1]);
    else if (part === 'edam' && arch === 'resnet38d') options.finalRelu = false;
    else if ((m = /^fc6dil(\d+)$/.exec(part)) && arch === 'vgg16d') options.fc6Dilation = Number(m[1]);
    else if (part === 'headless' && ['resnet50', 'resnet101', 'vgg16', 'mobilenet_v2'].includes(arch)) options.numClasses = 0;
    else if (part === 'nodil' && (arch === 'resnet50' || arch === 'resnet101')) options.dilate = false;
    else throw new Error(`backbone '${name}': suffix '-${part}' does not apply to ${arch}`);
  }
  return { arch, options };
}

/** Build a backbone by name (suffixes as in the header); `overrides` win over the suffixes. Finalised. */
export function createBackbone(name: string, overrides: BackboneOptions = {}): Backbone {
  const { arch, options: parsed } = parseBackboneName(name);
  const o: BackboneOptions = { ...parsed, ...definedOnly(overrides) };
  let net: Backbone;
  switch (arch) {
    case 'resnet50':
    case 'resnet101': {
      const os = o.outputStride ?? 32;
      if (os !== 32 && os !== 16 && os !== 8) throw new Error(`${name}: output stride must be 32, 16 or 8, got ${os}`);
      net = new ResNet({ depth: arch === 'resnet50' ? 50 : 101, outputStride: os, width: o.width, numClasses: o.numClasses, frozenBn: o.frozenBn, dilate: o.dilate });
      break;
    }
    case 'resnet38d':
      if (o.outputStride !== undefined && o.outputStride !== 8) throw new Error(`${name}: resnet38d has output stride 8 only`);
      net = new ResNet38d({ width: o.width, finalRelu: o.finalRelu, frozenBn: o.frozenBn });
      break;
    case 'vgg16':
      net = new VGG16({ width: o.width, numClasses: o.numClasses });
      break;
    case 'vgg16d':
      net = new VGG16d({ width: o.width, fc6Dilation: o.fc6Dilation });
      break;
    case 'mobilenet_v2':
      net = new MobileNetV2({ width: o.width, numClasses: o.numClasses, frozenBn: o.frozenBn });
      break;
  }
  for (const arg of ['outputStride', 'numClasses', 'finalRelu', 'fc6Dilation', 'frozenBn', 'dilate'] as const) {
    if (o[arg] === undefined) continue;
    const applies: Record<typeof arg, BackboneArch[]> = {
      outputStride: ['resnet50', 'resnet101', 'resnet38d'],
      numClasses: ['resnet50', 'resnet101', 'vgg16', 'mobilenet_v2'],
      finalRelu: ['resnet38d'],
      fc6Dilation: ['vgg16d'],
      frozenBn: ['resnet50', 'resnet101', 'resnet38d', 'mobilenet_v2'],
      dilate: ['resnet50', 'resnet101'],
    };
    if (!applies[arg].includes(arch)) throw new Error(`${name}: option ${arg} does not apply to ${arch}`);
  }
  return net.finalise();
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const BACKBONE_INPUT_CONVENTION = 'normalised float32 NCHW (torchvision)';

/**
 * A bare backbone as a GraphDef: input 'input' (already ImageNet-normalised, as torchvision
 * expects; no normalisation in the graph), outputs the requested stages (default: the deepest
 * feature map, plus the logits when the backbone has a classifier).
 */
export function backboneGraph(name: string, opts: BackboneOptions & { outputs?: string[] } = {}): GraphDef {
  const net = createBackbone(name, opts);
  const names = opts.outputs?.length
    ? opts.outputs
    : [...(net.stages.some((s) => s.name === 'logits') ? ['logits'] : []), net.lastFeatureStage.name];
  const outputs = names.map((n) => {
    const s = net.stage(n);
    return { name: s.name, meaning: s.meaning };
  });
  return {
    name,
    method: 'backbone',
    module: net,
    inputs: [{ name: 'input', channels: 3, meaning: 'ImageNet-normalised RGB float32 NCHW ((x/255 - mean)/std)' }],
    outputs,
    classNames: [],
    normalisation: null,
    inputConvention: BACKBONE_INPUT_CONVENTION,
    outputStride: net.outputStride,
    inference: (ops, inputs) => net.forward(ops, inputs.input, names),
  };
}

/** Registry entries for the common backbone names (any suffix combination also builds via backboneGraph). */
export function backboneGraphEntries(): [string, GraphEntry][] {
  const entries: [string, GraphEntry][] = [];
  const variants: [string, BackboneArch, string][] = BACKBONE_ARCHS.map((a) => [a, a, ''] as [string, BackboneArch, string]);
  variants.push(['resnet38d-edam', 'resnet38d', ' without the final ReLU (EDAM)'], ['vgg16d-fc6dil4', 'vgg16d', ' with fc6 dilation 4 (AffinityNet)']);
  for (const arch of ['resnet50', 'resnet101', 'vgg16', 'mobilenet_v2'] as const) variants.push([`${arch}-headless`, arch, ' without the ImageNet classifier']);
  for (const [base, arch, extra] of variants) {
    for (const suffix of ['', '-w16']) {
      const name = base + suffix;
      entries.push([
        name,
        {
          description: `${BACKBONE_DESCRIPTIONS[arch]}${extra}${suffix ? ' (width/16, for tests)' : ''}; input normalised, no normalisation in the graph`,
          build: (o) => backboneGraph(name, { width: suffix ? undefined : o.width, outputs: o.outputs, outputStride: o.outputStride }),
        },
      ]);
    }
  }
  return entries;
}

// ---- backbones as methods' feature extractors ------------------------------------------------

/** The backbones a method's head attaches to (`wsss train --backbone`), with what they are. */
export const FEATURE_BACKBONES: Record<string, string> = {
  'cam-tiny': "the synthetic benchmark's reference net (6 convs, stride 4, receptive field 21 px)",
  resnet50: 'ResNet-50 (torchvision), output stride 16 (-os8 for 8), no ImageNet classifier',
  resnet101: 'ResNet-101 (torchvision), output stride 16 (-os8 for 8), no ImageNet classifier',
  resnet38d: 'WideResNet-38 "resnet38d", output stride 8',
  vgg16d: 'VGG-16 DeepLab-LargeFOV "vgg16d", output stride 8',
  mobilenet_v2: 'MobileNetV2 (torchvision), output stride 32, no ImageNet classifier',
};

/**
 * The feature backbones whose final features end in BN + ReLU and can be taken before that ReLU
 * (`createFeatureBackbone(name, { finalRelu: false })`): cam-tiny's conv6 and ResNet-38's bn7.
 */
export const SIGNED_FINAL_BACKBONES = ['cam-tiny', 'resnet38d'];

/**
 * A backbone as a method's feature extractor: `cam-tiny` or a backbone name (suffixes as in
 * the header; `-w<N>` divides the width, `-os8`/`-os16` sets a ResNet's output stride, 16 by
 * default here as in DeepLab-style WSSS nets). ImageNet classifiers are dropped: a method brings
 * its own head. Finalised; its parameters keep their torchvision/official names.
 */
export function createFeatureBackbone(name: string, o: { width?: number; frozenBn?: boolean; finalRelu?: boolean } = {}): Backbone {
  const base = featureBackboneBase(name);
  if (o.finalRelu === false && !SIGNED_FINAL_BACKBONES.includes(base)) throw new Error(`${name}: features without the final ReLU exist for ${SIGNED_FINAL_BACKBONES.join(', ')} only`);
  if (base === 'cam-tiny') {
    if (o.frozenBn) throw new Error(`${name}: frozen batch norms apply to ${Object.keys(FEATURE_BACKBONES).filter((b) => ['resnet50', 'resnet101', 'resnet38d', 'mobilenet_v2'].includes(b)).join(', ')} only`);
    const m = /^cam-tiny(?:-w(\d+))?$/.exec(name);
    if (!m) throw new Error(`backbone '${name}': cam-tiny takes only a -w<N> suffix`);
    return new CamTinyBackbone(o.width ?? (m[1] ? 1 / Number(m[1]) : 1), o.finalRelu ?? true).finalise();
  }
  const { arch, options } = parseBackboneName(name);
  const overrides: BackboneOptions = { width: o.width, frozenBn: o.frozenBn || undefined, finalRelu: o.finalRelu };
  if (arch === 'resnet50' || arch === 'resnet101') overrides.outputStride = options.outputStride ?? 16;
  if (['resnet50', 'resnet101', 'mobilenet_v2'].includes(arch)) overrides.numClasses = 0;
  return createBackbone(name, overrides);
}

/** The FEATURE_BACKBONES entry a backbone name builds on; an error lists the known ones. */
export function featureBackboneBase(name: string): string {
  const base = Object.keys(FEATURE_BACKBONES)
    .sort((a, b) => b.length - a.length)
    .find((b) => name === b || name.startsWith(`${b}-`));
  if (!base) throw new Error(`unknown backbone '${name}'; known: ${Object.keys(FEATURE_BACKBONES).join(', ')} (suffixes: -w<N> width/N, -os8|-os16 for ResNets)`);
  return base;
}
