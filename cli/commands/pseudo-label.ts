// `wsss pseudo-label`: label maps and CAMs for every image of a data set, with an exported CAM model.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import { DEFAULT_CRF_ALPHA } from '../../runtime/crf/cam-crf.ts';
import { crfParamsFromArgs, withCrfOptions, type CrfArgs } from '../crf-options.ts';
import { parseScales, parseProviders } from '../options.ts';

interface Args extends CrfArgs {
  model: string;
  data: string;
  list?: string;
  split: string;
  out: string;
  ep: string;
  scales: string;
  flip: boolean;
  merge?: string;
  'bg-threshold'?: number;
  'use-image-labels': boolean;
  cams: boolean;
  'cam-format': string;
  workers?: number;
  threads?: number;
  'crf-alpha': number;
  saliency?: string;
}

export const pseudoLabelCommand: CommandModule<object, Args> = {
  command: 'pseudo-label',
  describe: 'Generate pseudo-labels (palette PNG) and CAMs (.npy) for a data set with an exported CAM model',
  builder: (y) =>
    withCrfOptions(y, "refine the labels with the dense CRF on [background, CAMs], background = (1 − max CAM)^α (psa's rule; replaces --bg-threshold)")
      .option('crf-alpha', { type: 'number', default: DEFAULT_CRF_ALPHA, describe: 'CRF: background exponent α of (1 − max CAM)^α (psa: 32 high / 4 low; EDAM: 1)' })
      .option('model', { type: 'string', demandOption: true, describe: 'exported model (.onnx) with a raw_cams output' })
      .option('data', { type: 'string', demandOption: true, describe: 'data set root in VOC layout (JPEGImages/, ImageSets/, cls_labels.json)' })
      .option('list', { type: 'string', describe: 'image list file (one id per line); default: ImageSets/Segmentation/<split>.txt' })
      .option('split', { type: 'string', default: 'train', describe: 'split whose list is used when --list is not given' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory (labels/*.png, cams/*.npy, summary.json)' })
      .option('ep', { type: 'string', default: 'cuda,cpu', describe: 'execution providers in order of preference (cuda needs the opt-in install, see README)' })
      .option('scales', { type: 'string', default: '1,0.5,1.5,2', describe: 'comma-separated scales; the first is the reference size' })
      .option('flip', { type: 'boolean', default: true, describe: 'also run horizontally flipped views' })
      .option('merge', { type: 'string', choices: ['max-flip-sum', 'sum', 'mean'], describe: "view merge rule: VWE/IRN (max with flip, sum over scales), EDAM (sum), 1-Stage (mean) (default: the model's label rule, else max-flip-sum)" })
      .option('bg-threshold', { type: 'number', describe: "background score: pixels where no class CAM exceeds it are background (default: the model's label rule, else 0.15)" })
      .option('use-image-labels', { type: 'boolean', default: false, describe: "keep only each image's labelled classes (from the data set's image-level labels)" })
      .option('cams', { type: 'boolean', default: true, describe: 'write CAMs as cams/<id>.npy (float32 [C, H, W]); --no-cams skips them' })
      .option('cam-format', { type: 'string', default: 'npy', choices: ['npy', 'irn-dict'], describe: "CAM file layout: npy = float32 [C, H, W]; irn-dict = IRNet's pickled dict {keys, cam (stride 4), high_res} (np.load(..., allow_pickle=True).item())" })
      .option('saliency', { type: 'string', describe: "folder of saliency maps <id>.png (grey 0..255, the image's size; the synthetic sets' SaliencyMaps/): labels by EDAM's Algorithm 1 with the model's θ, α, β (other models: the paper's 20, 0.25, 0.95) instead of --bg-threshold" })
      .option('workers', { type: 'number', describe: 'worker threads decoding/merging/writing around inference (default: a quarter of the cores on the CPU EP, all but one (≤ 8) on a GPU EP; 0 = none)' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: all cores; on a busy machine, cores minus --workers can be faster)' })
      .example('$0 pseudo-label --model runs/cam/model.onnx --data data/synth-small --out runs/cam/pseudo', 'label the train split')
      .example('$0 pseudo-label --model runs/cam/model.onnx --data data/synth-small --out runs/cam/pseudo-crf --crf psa --use-image-labels', 'labels refined by the dense CRF')
      .example('$0 pseudo-label --model runs/edam/model.onnx --data data/synth-small --out runs/edam/pseudo-sal --saliency data/synth-small/SaliencyMaps --use-image-labels', "EDAM's saliency-guided labels (Algorithm 1)"),
  handler: async (a) => {
    if (a.workers !== undefined && !(Number.isInteger(a.workers) && a.workers >= 0 && a.workers <= 64)) throw new CliError(`--workers must be an integer in [0, 64], got ${a.workers}`, 2);
    const crfParams = crfParamsFromArgs(a);
    if (crfParams && !(a['crf-alpha'] > 0)) throw new CliError(`--crf-alpha must be a positive number, got ${a['crf-alpha']}`, 2);
    const { runPseudoLabel } = await import('../pseudo-label-run.ts');
    const summary = await runPseudoLabel({
      model: a.model,
      data: a.data,
      list: a.list,
      split: a.split,
      out: a.out,
      providers: parseProviders(a.ep),
      scales: parseScales(a.scales),
      flip: a.flip,
      merge: a.merge as 'max-flip-sum' | 'sum' | 'mean' | undefined,
      bgThreshold: a['bg-threshold'],
      useImageLabels: a['use-image-labels'],
      writeCams: a.cams,
      camFormat: a['cam-format'] as 'npy' | 'irn-dict',
      workers: a.workers,
      threads: a.threads,
      saliency: a.saliency,
      crf: crfParams ? { params: crfParams, alpha: a['crf-alpha'], threads: a['crf-threads'] ?? 1 } : undefined,
    });
    if (summary.failed) throw new CliError(`${summary.failed} of ${summary.images} image(s) failed (listed above and in ${a.out}/summary.json)`, 1);
  },
};
