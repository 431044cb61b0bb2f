// The work behind `wsss train` (shared with `npm start` and the methods benchmark).
import { join } from 'node:path';
import type { TrainingHyper } from '../graphs/methods/method.ts';
import { getMethod } from '../graphs/methods/registry.ts';
import { writeFileAtomicSync } from '../runtime/node/files/atomic-write.ts';
import { trainMethod, type MethodTrainSummary } from '../train/method-trainer.ts';
import type { OptimizerKind } from '../train/optimizer.ts';
import { startTfjs } from '../train/tfjs-start.ts';

export interface TrainRunArgs {
  method: string;
  backbone: string;
  /** Method options given on the command line (by their option names). */
  options: Record<string, unknown>;
  data: string;
  split: string;
  out: string;
  /** Overrides of the method's defaults for the backbone. */
  hyper: Partial<TrainingHyper>;
  /** Default 'sgd'. */
  optimizer?: OptimizerKind;
  seed: number;
  checkpointEvery: number;
  init?: string;
  /** Label maps for methods trained on them (--labels). */
  labels?: string;
  maxSteps?: number;
  loader?: 'memory' | 'stream' | 'auto';
  backend?: string;
  quiet?: boolean;
}

export async function runTrain(a: TrainRunArgs): Promise<MethodTrainSummary> {
  const def = getMethod(a.method);
  const backend = await startTfjs(a.backend);
  if (!a.quiet) console.error(`tfjs backend: ${backend}`);
  const summary = await trainMethod({
    method: a.method,
    backbone: a.backbone,
    options: a.options,
    data: a.data,
    split: a.split,
    hyper: a.hyper,
    optimizer: a.optimizer,
    seed: a.seed,
    outDir: a.out,
    checkpointEvery: a.checkpointEvery,
    init: a.init,
    labels: a.labels,
    maxSteps: a.maxSteps,
    loader: a.loader,
    // The method's own augmentation (DeepLab's scale 0.5–1.5), else a light geometric and colour
    // one, as the papers' classification stage.
    augment: def.augment ?? { scale: [0.9, 1.1], flip: true, colorJitter: { brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0 } },
    progress: !a.quiet,
  });
  const out = { ...summary, backend, run: a.out, model: join(a.out, 'model.safetensors') };
  writeFileAtomicSync(join(a.out, 'summary.json'), JSON.stringify(out, null, 2) + '\n');
  if (!a.quiet) console.log(JSON.stringify(out));
  return summary;
}
