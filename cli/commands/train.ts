// `wsss train`: train any registered method (graphs/methods/registry.ts) on image-level labels.
// Method options come from the registry, so a new method needs no change here.
import type { CommandModule, Options } from 'yargs';
import { FEATURE_BACKBONES } from '../../graphs/backbones/index.ts';
import { allMethods, methodNames } from '../../graphs/methods/registry.ts';
import { OPTIMIZERS, type OptimizerKind } from '../../train/optimizer.ts';
import { CliError } from '../errors.ts';

interface Args {
  method: string;
  backbone: string;
  data: string;
  split: string;
  out: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  momentum?: number;
  'weight-decay'?: number;
  warmup?: number;
  crop?: number;
  seed: number;
  'checkpoint-every': number;
  'max-steps'?: number;
  init?: string;
  labels?: string;
  loader: string;
  backend?: string;
  [option: string]: unknown;
}

/** Every method's options as flags (no yargs default: what the user did not give takes the method's). */
function methodOptionFlags(): Record<string, Options> {
  const flags: Record<string, Options> = {};
  for (const m of allMethods())
    for (const [name, spec] of Object.entries(m.options)) {
      const f = (flags[name] ??= { type: spec.type, describe: `${spec.describe} [${m.name}, default ${spec.default}]`, group: 'Method options:' });
      if (!String(f.describe).includes(`[${m.name},`)) f.describe += ` [${m.name}, default ${spec.default}]`;
    }
  return flags;
}

const HYPER_DEFAULT = "(default: the method's for the backbone, see `wsss methods`)";

export const trainCommand: CommandModule<object, Args> = {
  command: 'train',
  describe: 'Train a method on image-level labels, or a DeepLab on pseudo-labels (--labels); resumes from RUN/checkpoint.safetensors',
  builder: (y) =>
    y
      .option('method', { type: 'string', default: 'cam', choices: methodNames(), describe: 'method to train (`wsss methods` lists them)' })
      .option('backbone', { type: 'string', default: 'cam-tiny', describe: `feature extractor: ${Object.keys(FEATURE_BACKBONES).join(', ')} (suffixes -w<N> width/N, -os8|-os16 for ResNets)` })
      .option('data', { type: 'string', demandOption: true, describe: 'data set root in VOC layout with image-level labels' })
      .option('split', { type: 'string', default: 'train', describe: 'image list to train on' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory: checkpoint.safetensors, model.safetensors, metrics.jsonl, summary.json' })
      .option('epochs', { type: 'number', describe: `passes over the training list ${HYPER_DEFAULT}` })
      .option('batch', { type: 'number', describe: `images per step ${HYPER_DEFAULT}` })
      .option('lr', { type: 'number', describe: `base learning rate, poly decay (power 0.9) ${HYPER_DEFAULT}` })
      .option('optimizer', { type: 'string', choices: OPTIMIZERS, default: 'sgd', describe: "sgd (momentum, as the papers) or adam (PyTorch's Adam, β 0.9/0.999, L2 decay; give it its own --lr, e.g. 0.001)" })
      .option('momentum', { type: 'number', describe: `SGD momentum ${HYPER_DEFAULT}` })
      .option('weight-decay', { type: 'number', describe: `weight decay (L2, SGD and Adam) ${HYPER_DEFAULT}` })
      .option('warmup', { type: 'number', describe: `linear warm-up steps ${HYPER_DEFAULT}` })
      .option('crop', { type: 'number', describe: `square training crop in pixels ${HYPER_DEFAULT}` })
      .option('seed', { type: 'number', default: 0, describe: 'seed of initialisation, data order and augmentation' })
      .option('checkpoint-every', { type: 'number', default: 100, describe: 'steps between checkpoints' })
      .option('max-steps', { type: 'number', describe: 'end the run after this many steps, complete and exportable (the schedule stays that of the full run; a larger value later continues it)' })
      .option('init', { type: 'string', describe: "pretrained weights (.safetensors, our names; a bare backbone's weights from `wsss import-weights` load into the backbone)" })
      .option('labels', { type: 'string', describe: 'label maps to train on, <id>.png with 255 ignored (a `wsss pseudo-label` output folder or its labels/): methods trained on label maps (deeplab)' })
      .option('loader', { type: 'string', default: 'auto', choices: ['auto', 'memory', 'stream'], describe: 'training images: decoded once into memory, or streamed (decoded and augmented in worker threads, bounded memory); auto streams lists over 2,000 images. Same crops either way' })
      .option('backend', { type: 'string', describe: 'tfjs backend to use (default: best available, see `wsss doctor`)' })
      .options(methodOptionFlags())
      .check((a) => {
        for (const k of ['epochs', 'batch', 'crop', 'warmup', 'checkpoint-every', 'max-steps'] as const) {
          const v = a[k];
          if (v !== undefined && (!Number.isInteger(v) || (v as number) < (k === 'warmup' ? 0 : 1))) throw new Error(`--${k} must be a ${k === 'warmup' ? 'non-negative' : 'positive'} integer`);
        }
        if (a.lr !== undefined && !((a.lr as number) > 0)) throw new Error('--lr must be positive');
        return true;
      })
      .example('$0 train --data data/synth-small --out runs/cam', 'the CAM baseline on the synthetic benchmark')
      .example('$0 train --method deeplab --variant v3plus --data data/synth-small --labels runs/cam/pseudo --out runs/deeplab', "DeepLab v3+ on CAM's pseudo-labels")
      .example('$0 train --method cam --backbone resnet50 --init r50.safetensors --data VOC --out runs/r50', 'CAM on an ImageNet ResNet-50 (output stride 16)') as never,
  handler: async (a) => {
    const { getMethod } = await import('../../graphs/methods/registry.ts');
    const { featureBackboneBase } = await import('../../graphs/backbones/index.ts');
    const def = getMethod(a.method);
    let base: string;
    try {
      base = featureBackboneBase(a.backbone);
    } catch (e) {
      throw new CliError((e as Error).message, 2);
    }
    if (!def.backbones.includes(base)) throw new CliError(`method ${def.name} does not support backbone ${base} (it supports ${def.backbones.join(', ')})`, 2);
    // Method options the user gave; an option of another method is a usage error.
    const options: Record<string, unknown> = {};
    for (const m of allMethods())
      for (const name of Object.keys(m.options)) {
        if (a[name] === undefined) continue;
        if (!(name in def.options)) throw new CliError(`--${name} is an option of method ${m.name}, not of ${def.name}`, 2);
        options[name] = a[name];
      }
    const { runTrain } = await import('../train-run.ts');
    try {
      await runTrain({
        method: a.method,
        backbone: a.backbone,
        options,
        data: a.data,
        split: a.split,
        out: a.out,
        hyper: { epochs: a.epochs, batch: a.batch, lr: a.lr, momentum: a.momentum, weightDecay: a['weight-decay'], warmup: a.warmup, crop: a.crop },
        optimizer: a.optimizer as OptimizerKind,
        seed: a.seed,
        checkpointEvery: a['checkpoint-every'],
        init: a.init,
        labels: a.labels,
        maxSteps: a['max-steps'],
        loader: a.loader as 'auto' | 'memory' | 'stream',
        backend: a.backend,
      });
    } catch (e) {
      throw new CliError((e as Error).message, 1);
    }
  },
};
