// Tensor naming schemes of the weight files users have, mapped onto our (PyTorch state_dict)
// names: torchvision / the official repos (identity), timm, and the MXNet names of the original
// WideResNet-38 ImageNet file. Pure string functions; the importer picks the scheme that
// explains the most tensors of a file.

import type { BackboneArch } from './index.ts';

/** What a source tensor becomes: one of our names, deliberately ignored, or not recognised. */
export type MappedName =
  | { to: string; /** Same values, different shape (e.g. a 7×7 conv classifier onto a Linear). */ reshape?: boolean }
  | { ignore: string }
  | null;

export interface NamingScheme {
  name: string;
  map(source: string): MappedName;
}

/** Buffers PyTorch adds to every BN that carry nothing we use. */
function ignoreBookkeeping(name: string): MappedName {
  return name.endsWith('.num_batches_tracked') ? { ignore: 'batch-norm step counter (unused)' } : null;
}

const identity: NamingScheme = {
  name: 'torchvision / official',
  map: (s) => ignoreBookkeeping(s) ?? { to: s },
};

// ---- timm ------------------------------------------------------------------------------------

/** timm resnet50/101 use torchvision's names. */
const timmResNet: NamingScheme = { name: 'timm', map: identity.map };

/** Repeats of MobileNetV2's seven block groups (timm `blocks.<s>.<i>` ↔ torchvision features.1–17). */
const MBV2_REPEATS = [1, 2, 3, 4, 3, 3, 1];

const timmMobileNetV2: NamingScheme = {
  name: 'timm',
  map(s) {
    const bk = ignoreBookkeeping(s);
    if (bk) return bk;
    let m: RegExpExecArray | null;
    if ((m = /^conv_stem\.(weight)$/.exec(s))) return { to: `features.0.0.${m[1]}` };
    if ((m = /^bn1\.(.+)$/.exec(s))) return { to: `features.0.1.${m[1]}` };
    if ((m = /^conv_head\.(weight)$/.exec(s))) return { to: `features.18.0.${m[1]}` };
    if ((m = /^bn2\.(.+)$/.exec(s))) return { to: `features.18.1.${m[1]}` };
    if ((m = /^classifier\.(weight|bias)$/.exec(s))) return { to: `classifier.1.${m[1]}` };
    if ((m = /^blocks\.(\d+)\.(\d+)\.([a-z_0-9]+)\.(.+)$/.exec(s))) {
      const stage = Number(m[1]);
      const i = Number(m[2]);
      if (stage >= MBV2_REPEATS.length || i >= MBV2_REPEATS[stage]) return null;
      const k = 1 + MBV2_REPEATS.slice(0, stage).reduce((a, b) => a + b, 0) + i;
      // Stage 0 is timm's depthwise-separable block (no expansion), the rest inverted residuals.
      const parts: Record<string, string> =
        stage === 0
          ? { conv_dw: 'conv.0.0', bn1: 'conv.0.1', conv_pw: 'conv.1', bn2: 'conv.2' }
          : { conv_pw: 'conv.0.0', bn1: 'conv.0.1', conv_dw: 'conv.1.0', bn2: 'conv.1.1', conv_pwl: 'conv.2', bn3: 'conv.3' };
      const local = parts[m[3]];
      return local ? { to: `features.${k}.${local}.${m[4]}` } : null;
    }
    return null;
  },
};

/** timm vgg16: the first two classifier layers are convolutions (7×7, 1×1) in `pre_logits`. */
const timmVGG16: NamingScheme = {
  name: 'timm',
  map(s) {
    let m: RegExpExecArray | null;
    if ((m = /^pre_logits\.fc1\.(weight|bias)$/.exec(s))) return { to: `classifier.0.${m[1]}`, reshape: true };
    if ((m = /^pre_logits\.fc2\.(weight|bias)$/.exec(s))) return { to: `classifier.3.${m[1]}`, reshape: true };
    if ((m = /^head\.fc\.(weight|bias)$/.exec(s))) return { to: `classifier.6.${m[1]}` };
    return identity.map(s);
  },
};

// ---- MXNet (ademxapp Model A1 → resnet38d), SPEC-backbones §1.9 ---------------------------------

const BN_FIELDS: Record<string, string> = { gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_var: 'running_var' };

const mxnetResNet38d: NamingScheme = {
  name: 'MXNet (ademxapp)',
  map(raw) {
    const s = raw.replace(/^(arg|aux):/, '');
    let m: RegExpExecArray | null;
    if (/^linear1000_(weight|bias)$/.test(s)) return { ignore: 'ImageNet classifier (not part of resnet38d)' };
    if (s === 'conv1a_weight') return { to: 'conv1a.weight' };
    // res{L}a_… is the first block of level L (b{L}), res{L}b{i}_… the i-th following one (b{L}_{i}).
    const block = (level: string, which: string) => (which === 'a' ? `b${level}` : `b${level}_${which.slice(1)}`);
    if ((m = /^res(\d)(a|b\d+)_(branch\w+?)_weight$/.exec(s))) return { to: `${block(m[1], m[2])}.conv_${m[3]}.weight` };
    if ((m = /^bn(\d)(a|b\d+)_(branch\w+?)_(gamma|beta|moving_mean|moving_var)$/.exec(s)))
      return { to: `${block(m[1], m[2])}.bn_${m[3]}.${BN_FIELDS[m[4]]}` };
    if ((m = /^bn7_(gamma|beta|moving_mean|moving_var)$/.exec(s))) return { to: `bn7.${BN_FIELDS[m[1]]}` };
    return ignoreBookkeeping(raw);
  },
};

/** The naming schemes to try for an architecture, most common first. */
export function namingSchemes(arch: BackboneArch): NamingScheme[] {
  switch (arch) {
    case 'resnet50':
    case 'resnet101':
      return [identity, timmResNet];
    case 'mobilenet_v2':
      return [identity, timmMobileNetV2];
    case 'vgg16':
      return [identity, timmVGG16];
    case 'resnet38d':
      // The original file's classifier is dropped by the official converters too.
      return [
        { name: identity.name, map: (s) => (/^linear1000[._](weight|bias)$/.test(s) ? { ignore: 'ImageNet classifier (not part of resnet38d)' } : identity.map(s)) },
        mxnetResNet38d,
      ];
    case 'vgg16d':
      // The Caffe-converted file uses the same layer names (blob 0 → weight, blob 1 → bias).
      return [identity];
  }
}

/**
 * Wrapper prefixes training scripts add (DataParallel's 'module.', 'model.', 'backbone.', …):
 * the leading dotted segment shared by every name, if stripping it is what makes names match.
 */
export function commonPrefix(names: string[]): string | null {
  if (!names.length) return null;
  const first = names[0].split('.')[0];
  if (!first || names.some((n) => !n.startsWith(`${first}.`))) return null;
  return `${first}.`;
}
