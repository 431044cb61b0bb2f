// `wsss synth`: generate the synthetic WSSS benchmark (VOC layout) deterministically from a seed.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';

interface SynthArgs {
  out: string;
  seed: number;
  preset: 'tiny' | 'small' | 'standard';
  train?: number;
  val?: number;
  size?: number;
  classes?: number;
  'body-cue'?: number;
  'body-cue-reliability'?: number;
  'head-scale'?: number;
  clutter?: number;
  'saliency-quality'?: number;
  concurrency: number;
}

export const synthCommand: CommandModule<object, SynthArgs> = {
  command: 'synth',
  describe: 'Generate the synthetic benchmark: images, masks, saliency and part masks in VOC layout',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'output folder (must be new, empty, or an identical earlier run)' })
      .option('seed', { type: 'number', default: 0, describe: 'random seed (same seed → byte-identical files)' })
      .option('preset', { choices: ['tiny', 'small', 'standard'] as const, default: 'small' as const, describe: 'tiny: 32+8 images 64 px; small: 1500+300 at 64 px; standard: 6000+1000 at 128 px' })
      .option('train', { type: 'number', describe: 'number of training images (overrides the preset)' })
      .option('val', { type: 'number', describe: 'number of validation images (overrides the preset)' })
      .option('size', { type: 'number', describe: 'image side in px (objects scale with it)' })
      .option('classes', { type: 'number', describe: 'number of foreground classes, 2–8 (default 6)' })
      .option('body-cue', { type: 'number', describe: 'strength of the weak class cue on bodies (default 0.04; 0 = no cue, the control)' })
      .option('body-cue-reliability', { type: 'number', describe: 'probability that a body carries its own class\'s cue, else a random class\'s (default 1)' })
      .option('head-scale', { type: 'number', describe: 'multiplies the head (discriminative part) radius (default 1); 0 = bodies only, no heads (the body-cue learnability control)' })
      .option('clutter', { type: 'number', describe: 'background clutter in [0,1] (default 0.5)' })
      .option('saliency-quality', { type: 'number', describe: 'quality of the simulated saliency maps in [0,1] (default 0.6)' })
      .option('concurrency', { type: 'number', default: 8, describe: 'images encoded in parallel' }),
  handler: async (a) => {
    const { defaultSynthParams, saliencyFromQuality, validateSynthParams } = await import('../../train/data/synth/params.ts');
    const { writeSynthDataset } = await import('../../train/data/synth/write-dataset.ts');
    const { Progress } = await import('../../runtime/node/progress.ts');
    const p = defaultSynthParams(a.preset, a.seed);
    if (a.train !== undefined) p.train = a.train;
    if (a.val !== undefined) p.val = a.val;
    if (a.size !== undefined) p.size = a.size;
    if (a.classes !== undefined) p.numClasses = a.classes;
    if (a['body-cue'] !== undefined) p.bodyCue = a['body-cue'];
    if (a['body-cue-reliability'] !== undefined) p.bodyCueReliability = a['body-cue-reliability'];
    if (a['head-scale'] !== undefined) p.headScale = a['head-scale'];
    if (a.clutter !== undefined) p.clutter = a.clutter;
    if (a['saliency-quality'] !== undefined) {
      const q = a['saliency-quality'];
      if (!(q >= 0 && q <= 1)) throw new CliError(`--saliency-quality must be in [0, 1], got ${q}`, 2);
      p.saliency = saliencyFromQuality(q);
    }
    try {
      validateSynthParams(p);
    } catch (e) {
      throw new CliError((e as Error).message, 2);
    }
    const progress = new Progress({ total: p.train + p.val, label: 'synth', unit: 'img' });
    let r;
    let ticked = false;
    try {
      r = await writeSynthDataset(a.out, p, {
        concurrency: a.concurrency,
        onProgress: () => {
          ticked = true;
          progress.tick();
        },
      });
    } catch (e) {
      throw new CliError((e as Error).message);
    } finally {
      if (ticked && process.stderr.isTTY) progress.finish(); // non-TTY: the last tick already printed the final line
    }
    const rate = r.status === 'created' ? (r.images - r.resumed) / r.seconds : 0;
    if (r.status === 'exists') console.log(`${r.out}: already complete with these parameters; nothing to do`);
    else console.log(`${r.out}: ${p.train} train + ${p.val} val images, ${p.size}×${p.size}, ${p.numClasses} classes, seed ${p.seed}` + (r.resumed ? ` (${r.resumed} resumed)` : '') + ` in ${r.seconds.toFixed(1)} s (${rate.toFixed(0)} img/s)`);
    const st = r.stats;
    console.log(
      `objects: ${st.meanObjectsPerImage.toFixed(2)} per image; per class ${Object.entries(st.objectsPerClass).map(([k, v]) => `${k} ${v}`).join(', ')}` +
        (p.headScale === 0 ? '; bodies only (no heads)' : '') +
        (st.imagesWithoutObjects ? `; ${st.imagesWithoutObjects} images without objects` : ''),
    );
    console.log(
      JSON.stringify({
        out: r.out,
        status: r.status,
        images: r.images,
        resumed: r.resumed,
        seconds: Math.round(r.seconds * 1000) / 1000,
        images_per_s: Math.round(rate),
        objects_per_image: st.meanObjectsPerImage,
        objects_per_class: st.objectsPerClass,
        images_without_objects: st.imagesWithoutObjects,
        heads: p.headScale > 0,
      }),
    );
  },
};
