// The work behind `wsss train` (shared with `npm start`).
import { join } from 'node:path';
import { writeFileAtomicSync } from '../runtime/node/atomic-write.ts';
import { trainCam, type CamTrainSummary } from '../train/methods/cam.ts';
import { startTfjs } from '../train/tfjs-start.ts';

export interface TrainRunArgs {
  backbone: string;
  width: number;
  data: string;
  split: string;
  out: string;
  epochs: number;
  batch: number;
  lr: number;
  momentum: number;
  'weight-decay': number;
  'head-lr-mult': number;
  warmup: number;
  crop: number;
  seed: number;
  'checkpoint-every': number;
  init?: string;
  backend?: string;
  quiet?: boolean;
}

export async function runTrain(a: TrainRunArgs): Promise<CamTrainSummary> {
  const backend = await startTfjs(a.backend);
  if (!a.quiet) console.error(`tfjs backend: ${backend}`);
  const summary = await trainCam({
    graph: a.backbone,
    width: a.width,
    data: a.data,
    split: a.split,
    crop: a.crop,
    batch: a.batch,
    epochs: a.epochs,
    lr: a.lr,
    momentum: a.momentum,
    weightDecay: a['weight-decay'],
    headLrMult: a['head-lr-mult'],
    warmupSteps: a.warmup,
    seed: a.seed,
    outDir: a.out,
    checkpointEvery: a['checkpoint-every'],
    init: a.init,
    // Light geometric and colour augmentation, as the papers' classification stage.
    augment: { scale: [0.9, 1.1], flip: true, colorJitter: { brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0 } },
    progress: !a.quiet,
  });
  const out = { ...summary, backend, model: join(a.out, 'model.safetensors') };
  writeFileAtomicSync(join(a.out, 'summary.json'), JSON.stringify(out, null, 2) + '\n');
  if (!a.quiet) console.log(JSON.stringify(out));
  return summary;
}
