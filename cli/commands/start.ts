// `wsss start` (`npm start`): the main job end to end on the built-in synthetic benchmark —
// generate the data set (if absent), train the CAM baseline, export it, pseudo-label the train
// split, evaluate against the ground truth, print the mIoU table and the report's path. Each
// stage is the same `wsss` command a user would run (shown as it runs), and each resumes, so a
// rerun after an interruption continues where it stopped.
import type { CommandModule } from 'yargs';

interface Args {
  data: string;
  out: string;
  preset: string;
  epochs?: number;
  seed: number;
}

export const startCommand: CommandModule<object, Args> = {
  command: 'start',
  describe: 'Main job: synthetic data → train CAM → export → pseudo-label → evaluate (what `npm start` runs)',
  builder: (y) =>
    y
      .option('data', { type: 'string', default: 'data/synth-small', describe: 'data set folder (generated if absent)' })
      .option('out', { type: 'string', default: 'runs/start', describe: 'run folder' })
      .option('preset', { type: 'string', default: 'small', choices: ['tiny', 'small', 'standard'], describe: 'synthetic preset used when generating' })
      .option('epochs', { type: 'number', describe: 'training epochs (default: the train command\'s)' })
      .option('seed', { type: 'number', default: 0, describe: 'training seed (initialisation, data order, augmentation); the data set keeps seed 0' }),
  handler: async (a) => {
    const { runStart } = await import('../start-run.ts');
    await runStart(a);
  },
};
