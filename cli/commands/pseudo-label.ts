// `wsss pseudo-label`: label maps and CAMs for every image of a data set, with an exported CAM model.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import { DEFAULT_CRF_ALPHA } from '../../runtime/crf/cam-crf.ts';
import { crfParamsFromArgs, withCrfOptions, type CrfArgs } from '../crf-options.ts';
import { parseScales, parseProviders } from '../options.ts';
import { ALGORITHM1_DEFAULTS } from '../../runtime/saliency/algorithm1.ts';
import { DEFAULT_SALIENCY_THRESHOLD } from '../../runtime/saliency/saliency-labels.ts';

interface Args extends CrfArgs {
  model?: string;
  'from-cams'?: string;
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
  'fuse-saliency': boolean;
  'saliency-only': boolean;
  saliency?: string;
  gamma1: number;
  gamma2: number;
  'saliency-threshold': number;
}

export const pseudoLabelCommand: CommandModule<object, Args> = {
  command: 'pseudo-label',
  describe: 'Generate pseudo-labels (palette PNG) and CAMs (.npy) for a data set with an exported CAM model',
  builder: (y) =>
    withCrfOptions(y, "refine the labels with the dense CRF on [background, CAMs], background = (1 − max CAM)^α (psa's rule; replaces --bg-threshold)")
      .option('crf-alpha', { type: 'number', default: DEFAULT_CRF_ALPHA, describe: 'CRF: background exponent α of (1 − max CAM)^α (psa: 32 high / 4 low; EDAM: 1)' })
      .option('model', { type: 'string', describe: 'exported model (.onnx) with a raw_cams output' })
      .option('from-cams', { type: 'string', describe: 'instead of --model: CAMs saved by an earlier run (<dir>/<id>.npy, float32 [C, H, W]) labelled with this run\'s rule (--bg-threshold, default 0.15; --fuse-saliency; --saliency-only)' })
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
      .option('workers', { type: 'number', describe: 'worker threads decoding/merging/writing around inference (default: a quarter of the cores on the CPU EP, all but one (≤ 8) on a GPU EP; 0 = none)' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: all cores; on a busy machine, cores minus --workers can be faster)' })
      .option('fuse-saliency', { type: 'boolean', default: false, describe: "labels by Algorithm 1 of Xu et al.: M = (CAM + S)/2 over the image's classes, background where M < --gamma1 or S < --gamma2, else argmax" })
      .option('saliency-only', { type: 'boolean', default: false, describe: "labels from saliency alone (a baseline): S ≥ --saliency-threshold gets the image's (first) class; needs --use-image-labels" })
      .option('saliency', { type: 'string', describe: 'folder of saliency maps <id>.png (8-bit grey) (default: <data>/SaliencyMaps; `wsss saliency` makes them)' })
      .option('gamma1', { type: 'number', default: ALGORITHM1_DEFAULTS.gamma1, describe: '--fuse-saliency: threshold γ1 on M = (CAM + S)/2' })
      .option('gamma2', { type: 'number', default: ALGORITHM1_DEFAULTS.gamma2, describe: '--fuse-saliency: threshold γ2 on the saliency S' })
      .option('saliency-threshold', { type: 'number', default: DEFAULT_SALIENCY_THRESHOLD, describe: '--saliency-only: salient where S ≥ this' })
      .example('$0 pseudo-label --model runs/gradcam/model.onnx --data data/synth-small --out runs/gradcam/pseudo-fused --fuse-saliency --use-image-labels', "Grad-CAM fused with the data set's saliency maps (Algorithm 1)")
      .example('$0 pseudo-label --model runs/cam/model.onnx --data data/synth-small --out runs/cam/pseudo', 'label the train split')
      .example('$0 pseudo-label --model runs/cam/model.onnx --data data/synth-small --out runs/cam/pseudo-crf --crf psa --use-image-labels', 'labels refined by the dense CRF'),
  handler: async (a) => {
    if (a.workers !== undefined && !(Number.isInteger(a.workers) && a.workers >= 0 && a.workers <= 64)) throw new CliError(`--workers must be an integer in [0, 64], got ${a.workers}`, 2);
    const crfParams = crfParamsFromArgs(a);
    if (crfParams && !(a['crf-alpha'] > 0)) throw new CliError(`--crf-alpha must be a positive number, got ${a['crf-alpha']}`, 2);
    if (a['fuse-saliency'] && a['saliency-only']) throw new CliError('--fuse-saliency and --saliency-only are alternatives; give one', 2);
    for (const k of ['gamma1', 'gamma2', 'saliency-threshold'] as const)
      if (!(Number.isFinite(a[k]) && a[k] >= 0 && a[k] <= 1)) throw new CliError(`--${k} must be a number in [0, 1], got ${a[k]}`, 2);
    const saliencyRule = a['fuse-saliency'] ? ('fuse' as const) : a['saliency-only'] ? ('only' as const) : undefined;
    if (!saliencyRule && a.saliency) throw new CliError('--saliency needs --fuse-saliency or --saliency-only', 2);
    if (!!a.model === !!a['from-cams']) throw new CliError('give one of --model (run the model) and --from-cams (saved CAMs)', 2);
    const saliency = saliencyRule ? { rule: saliencyRule, dir: a.saliency, gamma1: a.gamma1, gamma2: a.gamma2, threshold: a['saliency-threshold'] } : undefined;
    if (a['from-cams']) {
      if (crfParams) throw new CliError('--crf needs --model (the CRF reads the image pixels the model run prepares)', 2);
      const { runPseudoLabelFromCams } = await import('../pseudo-label-cams-run.ts');
      const s = await runPseudoLabelFromCams({ cams: a['from-cams'], data: a.data, list: a.list, split: a.split, out: a.out, bgThreshold: a['bg-threshold'], useImageLabels: a['use-image-labels'], saliency });
      if (s.failed) throw new CliError(`${s.failed} of ${s.images} image(s) failed (listed above and in ${a.out}/summary.json)`, 1);
      return;
    }
    const { runPseudoLabel } = await import('../pseudo-label-run.ts');
    const summary = await runPseudoLabel({
      model: a.model!,
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
      crf: crfParams ? { params: crfParams, alpha: a['crf-alpha'], threads: a['crf-threads'] ?? 1 } : undefined,
      saliency,
    });
    if (summary.failed) throw new CliError(`${summary.failed} of ${summary.images} image(s) failed (listed above and in ${a.out}/summary.json)`, 1);
  },
};
