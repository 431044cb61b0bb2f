// `wsss saliency`: saliency maps for a data set from any ONNX saliency model, with the optional
// iterative erasing of Xu et al. (seed 004), in the SaliencyMaps/ layout `wsss pseudo-label
// --fuse-saliency` reads.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import { parseProviders } from '../options.ts';

interface Args {
  model: string;
  data: string;
  list?: string;
  split: string;
  out: string;
  ep: string;
  erase: boolean;
  'erase-thresholds': string;
  input: string;
  size?: number;
}

export const saliencyCommand: CommandModule<object, Args> = {
  command: 'saliency',
  describe: 'Saliency maps (8-bit grey PNG) for a data set from an ONNX saliency model, optionally with iterative erasing',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'ONNX saliency model: first input an RGB image [1, 3, H, W], first output one channel' })
      .option('data', { type: 'string', demandOption: true, describe: 'data set root in VOC layout (JPEGImages/, ImageSets/)' })
      .option('list', { type: 'string', describe: 'image list file (one id per line); default: ImageSets/Segmentation/<split>.txt' })
      .option('split', { type: 'string', default: 'train', describe: 'split whose list is used when --list is not given' })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder for <id>.png (give it to `wsss pseudo-label --saliency`)' })
      .option('ep', { type: 'string', default: 'cuda,cpu', describe: 'execution providers in order of preference' })
      .option('erase', { type: 'boolean', default: false, describe: 'iterative erasing: rerun the model with the salient pixels filled with the mean pixel, keep the pixel-wise max' })
      .option('erase-thresholds', { type: 'string', default: '0.7,0.8', describe: 'with --erase: the threshold of each erasing step (the paper: 0.7 then 0.8)' })
      .option('input', { type: 'string', default: '0-255', choices: ['0-255', '0-1', 'imagenet'], describe: "the model's input range: RGB in [0, 255], [0, 1], or ImageNet-normalised" })
      .option('size', { type: 'number', describe: 'square input size the model needs (default: each image at its own size)' })
      .example('$0 saliency --model dhsnet.onnx --data data/voc --out data/voc/SaliencyErased --erase --input imagenet --size 224', 'saliency with two erasing steps'),
  handler: async (a) => {
    const thresholds = a['erase-thresholds'].split(',').map((s) => Number(s.trim()));
    if (thresholds.some((t) => !(t > 0 && t < 1))) throw new CliError(`--erase-thresholds must be numbers in (0, 1), got '${a['erase-thresholds']}'`, 2);
    if (a.size !== undefined && !(Number.isInteger(a.size) && a.size > 0)) throw new CliError(`--size must be a positive integer, got ${a.size}`, 2);
    const { runSaliency } = await import('../saliency-run.ts');
    const s = await runSaliency({
      model: a.model,
      data: a.data,
      list: a.list,
      split: a.split,
      out: a.out,
      providers: parseProviders(a.ep),
      erase: a.erase ? thresholds : [],
      input: a.input as '0-255' | '0-1' | 'imagenet',
      size: a.size,
    });
    if (s.failed) throw new CliError(`${s.failed} of ${s.images} image(s) failed (listed above)`, 1);
  },
};
