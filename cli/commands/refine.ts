// `wsss refine`: the dense CRF (--crf) or PAMR (--pamr) over a folder of probability maps (or
// CAMs) → label PNGs.
import type { CommandModule } from 'yargs';
import { positiveIntList } from '../../graphs/methods/option-lists.ts';
import { DEFAULT_CRF_ALPHA } from '../../runtime/crf/cam-crf.ts';
import { crfParamsFromArgs, withCrfOptions, type CrfArgs } from '../crf-options.ts';
import { CliError } from '../errors.ts';

interface Args extends CrfArgs {
  data: string;
  probs: string;
  out: string;
  list?: string;
  cams: boolean;
  'crf-alpha': number;
  'use-image-labels': boolean;
  engine: string;
  pamr: boolean;
  dilations: string;
  iters: number;
  stride: number;
  'bg-score'?: number;
}

export const refineCommand: CommandModule<object, Args> = {
  command: 'refine',
  describe: 'Refine probability maps (or CAMs) with the dense CRF or with PAMR: one label PNG per image',
  builder: (y) =>
    withCrfOptions(y, 'the CRF preset (required)')
      .option('data', { type: 'string', demandOption: true, describe: 'images: a VOC-layout data set root (JPEGImages/) or a folder of <id>.jpg/.png' })
      .option('probs', { type: 'string', demandOption: true, describe: 'folder of <id>.npy, float32 [C, H, W] probabilities (background first) at the image size' })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder of <id>.png label maps (palette)' })
      .option('list', { type: 'string', describe: 'image-id list file (default: every .npy in --probs)' })
      .option('cams', { type: 'boolean', default: false, describe: "--probs holds foreground CAMs [K, H, W] (as `wsss pseudo-label` writes them): background (1 − max CAM)^α is added (psa's rule)" })
      .option('crf-alpha', { type: 'number', default: DEFAULT_CRF_ALPHA, describe: 'with --cams: background exponent α' })
      .option('use-image-labels', { type: 'boolean', default: false, describe: "with --cams: keep only each image's labelled classes (from the data set)" })
      .option('engine', { type: 'string', default: 'auto', choices: ['auto', 'native', 'wasm', 'js'], describe: 'CRF engine: the native addon (SIMD, threads), WebAssembly, or the plain TypeScript port; auto = native when built, else wasm' })
      .option('pamr', { type: 'boolean', default: false, describe: 'refine with PAMR (1-Stage) instead of the CRF: writes OUT/labels/<id>.png and the refined maps OUT/cams/<id>.npy' })
      .option('dilations', { type: 'string', default: '1,2,4,8,12,24', describe: 'with --pamr: neighbour dilations (1-Stage: 1,2,4,8,12,24)' })
      .option('iters', { type: 'number', default: 10, describe: 'with --pamr: iterations (1-Stage: 10)' })
      .option('stride', { type: 'number', default: 1, describe: 'with --pamr: refine at 1/N of the image size and resize back (1-Stage refines its masks at stride 4 of the input)' })
      .option('bg-score', { type: 'number', describe: 'with --pamr --cams: constant background score put in front of the CAMs (default: bg_threshold of the summary.json beside --probs, else 0.15)' })
      .example('$0 refine --pamr --cams --use-image-labels --data data/synth-small --probs runs/pseudo/cams --out runs/pseudo-pamr', "PAMR over a CAM model's saved CAMs ('CAM + PAMR')")
      .example('$0 refine --crf psa --data data/voc --probs runs/seg/probs --out runs/seg/crf', 'CRF-refined labels of a segmentation network')
      .example('$0 refine --crf psa --cams --use-image-labels --data data/synth-small --probs runs/pseudo/cams --out runs/pseudo/crf', 'CRF pseudo-labels from saved CAMs') as never,
  handler: async (a) => {
    if (a.pamr) return refinePamr(a);
    if (a.crf === undefined) throw new CliError('--crf PRESET (psa, edam or irn) or --pamr is required', 2);
    const params = crfParamsFromArgs(a)!;
    if (a.cams && !(a['crf-alpha'] > 0)) throw new CliError(`--crf-alpha must be a positive number, got ${a['crf-alpha']}`, 2);
    const { readFileSync, existsSync } = await import('node:fs');
    const { parseImageList } = await import('../../runtime/node/dataset/voc-dataset.ts');
    if (a.list && !existsSync(a.list)) throw new CliError(`--list: ${a.list} does not exist`, 2);
    const ids = a.list ? parseImageList(readFileSync(a.list, 'utf8')) : undefined;
    const { loadCrfEngine } = await import('../../runtime/node/crf/crf-engines.ts');
    const { refineWithCrf } = await import('../../runtime/node/crf/crf-refine.ts');
    let engine;
    try {
      engine = await loadCrfEngine(a.engine as 'auto' | 'native' | 'wasm' | 'js');
    } catch (e) {
      throw new CliError((e as Error).message, 2);
    }
    let summary;
    try {
      summary = await refineWithCrf({ data: a.data, probs: a.probs, out: a.out, params, engine, threads: a['crf-threads'], ids, cams: a.cams ? { alpha: a['crf-alpha'], useImageLabels: a['use-image-labels'] } : undefined });
    } catch (e) {
      throw new CliError((e as Error).message, 2);
    }
    for (const f of summary.failures) console.error(`failed: ${f.id}: ${f.reason}`);
    console.log(`${summary.refined} refined, ${summary.skipped_existing} already done, ${summary.failed} failed, ${summary.images_per_second.toFixed(1)} images/s (${summary.engine} CRF), into ${summary.out}`);
    console.log(JSON.stringify({ ...summary, crf: params, failures: summary.failures.map((f) => `${f.id}: ${f.reason}`) }));
    if (summary.failed) throw new CliError(`${summary.failed} of ${summary.images} image(s) failed (listed above)`, 1);
  },
};

async function refinePamr(a: Args): Promise<void> {
  if (a.crf !== undefined) throw new CliError('--pamr and --crf are two refinements: give one', 2);
  let dilations: number[];
  try {
    dilations = positiveIntList(a.dilations, 'refine', 'dilations');
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  if (!Number.isInteger(a.iters) || a.iters < 0) throw new CliError(`--iters must be a non-negative integer, got ${a.iters}`, 2);
  if (!Number.isInteger(a.stride) || a.stride < 1) throw new CliError(`--stride must be a positive integer, got ${a.stride}`, 2);
  if (a['bg-score'] !== undefined && !Number.isFinite(a['bg-score'])) throw new CliError('--bg-score must be a number', 2);
  const { readFileSync, existsSync } = await import('node:fs');
  const { parseImageList } = await import('../../runtime/node/dataset/voc-dataset.ts');
  if (a.list && !existsSync(a.list)) throw new CliError(`--list: ${a.list} does not exist`, 2);
  const ids = a.list ? parseImageList(readFileSync(a.list, 'utf8')) : undefined;
  const { refineWithPamr } = await import('../pamr-refine-run.ts');
  let summary;
  try {
    summary = await refineWithPamr({ data: a.data, maps: a.probs, out: a.out, cams: a.cams, bgScore: a['bg-score'], useImageLabels: a['use-image-labels'], dilations, iterations: a.iters, stride: a.stride, ids });
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  for (const f of summary.failures) console.error(`failed: ${f.id}: ${f.reason}`);
  console.log(`${summary.refined} refined, ${summary.skipped_existing} already done, ${summary.failed} failed, ${summary.images_per_second.toFixed(1)} images/s (PAMR), into ${summary.out}`);
  console.log(JSON.stringify({ ...summary, failures: summary.failures.map((f) => `${f.id}: ${f.reason}`) }));
  if (summary.failed) throw new CliError(`${summary.failed} of ${summary.images} image(s) failed (listed above)`, 1);
}
