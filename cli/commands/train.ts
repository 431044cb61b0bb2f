// `wsss train`: train a method on a data set's image-level labels.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import type { TrainRunArgs } from '../train-run.ts';

// The options are the training run's arguments plus the method (type-only import: nothing heavy loads).
interface Args extends TrainRunArgs {
  method: string;
}

export const trainCommand: CommandModule<object, Args> = {
  command: 'train',
  describe: 'Train a method on image-level labels (resumes from RUN_DIR/checkpoint.safetensors)',
  builder: (y) =>
    y
      .option('method', { type: 'string', default: 'cam', choices: ['cam'], describe: 'method to train' })
      .option('backbone', { type: 'string', default: 'cam-tiny', describe: 'network (a CAM graph name, see `wsss export --help`)' })
      .option('width', { type: 'number', default: 1, describe: 'width multiplier of the network (1 = published width)' })
      .option('data', { type: 'string', demandOption: true, describe: 'data set root in VOC layout with image-level labels' })
      .option('split', { type: 'string', default: 'train', describe: 'image list to train on' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory: checkpoint.safetensors, model.safetensors, metrics.jsonl, summary.json' })
      .option('epochs', { type: 'number', default: 12, describe: 'passes over the training list' })
      .option('batch', { type: 'number', default: 16, describe: 'images per step' })
      .option('lr', { type: 'number', default: 0.05, describe: 'base learning rate (poly decay, power 0.9)' })
      .option('momentum', { type: 'number', default: 0.9 })
      .option('weight-decay', { type: 'number', default: 1e-4 })
      .option('head-lr-mult', { type: 'number', default: 10, describe: 'learning-rate multiplier of the new classifier head (the papers use 10)' })
      .option('warmup', { type: 'number', default: 20, describe: 'linear warm-up steps' })
      .option('crop', { type: 'number', default: 64, describe: 'square training crop in pixels' })
      .option('seed', { type: 'number', default: 0, describe: 'seed of initialisation, data order and augmentation' })
      .option('checkpoint-every', { type: 'number', default: 100, describe: 'steps between checkpoints' })
      .option('init', { type: 'string', describe: 'pretrained weights (.safetensors, our names; see `wsss import-weights`)' })
      .option('backend', { type: 'string', describe: 'tfjs backend to use (default: best available, see `wsss doctor`)' })
      .check((a) => {
        for (const k of ['epochs', 'batch', 'crop', 'checkpoint-every'] as const)
          if (!Number.isInteger(a[k]) || a[k] < 1) throw new Error(`--${k} must be a positive integer`);
        if (!(a.lr > 0)) throw new Error('--lr must be positive');
        return true;
      })
      .example('$0 train --data data/synth-small --out runs/cam', 'train the CAM baseline on the synthetic benchmark'),
  handler: async (a) => {
    const { runTrain } = await import('../train-run.ts');
    try {
      await runTrain(a);
    } catch (e) {
      throw new CliError((e as Error).message, 1);
    }
  },
};
