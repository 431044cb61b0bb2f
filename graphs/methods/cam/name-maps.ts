// Checkpoint layouts of the CAM network in the official repos, mapped onto ours
// (backbone.<backbone's names>, head.classifier.weight), for `wsss import-weights --method cam`:
//
// - wsss: our own names (a `wsss train` checkpoint).
// - IRNet (net/resnet50_cam.py): the ResNet under `resnet50.`, and the same layers again under
//   `stage1.0…4`, `stage2.0` … `stage4.0` (nn.Sequential aliases of the same modules: its
//   state dict lists every tensor twice); the 1×1 classifier is `classifier.weight`. IRNet's
//   ResNet-50 has strides (2, 2, 2, 1) without dilation: import it with `--backbone resnet50-nodil`.
// - psa / SEAM (network/resnet38_cls.py, vgg16_cls.py): the backbone's names at the top level
//   and the classifier `fc8.weight`; also a checkpoint that calls it `classifier.weight`.

import { parseBackboneName } from '../../backbones/index.ts';
import { namingSchemes, type MappedName, type NamingScheme } from '../../backbones/name-maps.ts';

const HEAD = 'head.classifier.weight';

function bookkeeping(s: string): MappedName {
  return s.endsWith('.num_batches_tracked') ? { ignore: 'batch-norm step counter (unused)' } : null;
}

/** A backbone tensor's mapped name, moved under our `backbone.` module. */
function underBackbone(m: MappedName): MappedName {
  return m && 'to' in m ? { ...m, to: `backbone.${m.to}` } : m;
}

export function camNamingSchemes(backbone: string): NamingScheme[] {
  const ours: NamingScheme = { name: 'wsss', map: (s) => bookkeeping(s) ?? { to: s } };
  if (backbone.startsWith('cam-tiny')) return [ours];
  const { arch } = parseBackboneName(backbone);
  // The backbone's official (torchvision / repo) names; their ImageNet classifier is not part of a CAM network.
  const official = namingSchemes(arch)[0];
  const backboneName = (s: string): MappedName =>
    /^fc\.(weight|bias)$/.test(s) ? { ignore: "the backbone's ImageNet classifier (not part of the CAM network)" } : underBackbone(official.map(s));
  const schemes: NamingScheme[] = [ours];
  if (arch === 'resnet50' || arch === 'resnet101') {
    schemes.push({
      name: 'IRNet resnet50_cam',
      map(s) {
        let m: RegExpExecArray | null;
        if ((m = /^resnet(?:50|101)\.(.+)$/.exec(s))) return backboneName(m[1]);
        if (/^stage\d\.\d+\./.test(s)) return { ignore: `alias of the same tensor under 'resnet50.' (IRNet's stage modules share its layers)` };
        if (s === 'classifier.weight') return { to: HEAD };
        return null;
      },
    });
  }
  schemes.push({
    name: 'psa / SEAM classification network',
    map(s) {
      if (s === 'fc8.weight' || s === 'classifier.weight') return { to: HEAD };
      return backboneName(s);
    },
  });
  return schemes;
}
