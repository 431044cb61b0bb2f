// `wsss pseudo-label`: label maps and CAMs for every image of a data set, with an exported CAM model.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import { DEFAULT_CRF_ALPHA } from '../../runtime/crf/cam-crf.ts';
import { crfParamsFromArgs, withCrfOptions, type CrfArgs } from '../crf-options.ts';
import { parseScales, parseProviders } from '../options.ts';
import { ALGORITHM1_DEFAULTS } from '../../runtime/saliency/algorithm1.ts';
import { DEFAULT_SALIENCY_THRESHOLD } from '../../runtime/saliency/saliency-labels.ts';
import type { SaliencyRequest } from '../pseudo-label-run.ts';

interface Args extends CrfArgs {
  model?: string;
  'from-cams'?: string;
  data?: string;
  list?: string;
  split: string;
  out?: string;
  ep: string;
  shard?: string;
  'num-shards'?: number;
  'merge-summaries'?: string;
  scales: string;
  flip: boolean;
  merge?: string;
  'bg-threshold'?: number;
  'use-image-labels': boolean;
  pamr: boolean;
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
      .option('model', { type: 'string', describe: 'exported model (.onnx) with a raw_cams output (required, except with --from-cams: there it only gives the label rule)' })
      .option('pamr', { type: 'boolean', default: false, describe: "with --from-cams: refine the saved CAMs with PAMR (1-Stage's dilations and iterations, at image resolution; the background threshold as a constant background score) before the argmax — the 'CAM + PAMR' row; also writes the refined maps to OUT/cams" })
      .option('from-cams', { type: 'string', describe: "instead of running the model: CAMs saved by an earlier run (<dir>/<id>.npy, float32 [C, H, W]) labelled with this run's rule (--bg-threshold, --saliency, --fuse-saliency, --saliency-only); with --model, that model's label rule (it is not run)" })
      .option('data', { type: 'string', describe: 'data set root in VOC layout (JPEGImages/, ImageSets/, cls_labels.json) (required)' })
      .option('list', { type: 'string', describe: 'image list file (one id per line); default: ImageSets/Segmentation/<split>.txt' })
      .option('split', { type: 'string', default: 'train', describe: 'split whose list is used when --list is not given' })
      .option('out', { type: 'string', describe: 'output directory (labels/*.png, cams/*.npy, summary.json) (required)' })
      .option('ep', { type: 'string', default: 'cuda,cpu', describe: 'execution providers in order of preference (cuda needs the opt-in install, see README)' })
      .option('scales', { type: 'string', default: '1,0.5,1.5,2', describe: 'comma-separated scales; the first is the reference size' })
      .option('flip', { type: 'boolean', default: true, describe: 'also run horizontally flipped views' })
      .option('merge', { type: 'string', choices: ['max-flip-sum', 'sum', 'mean'], describe: "view merge rule: VWE/IRN (max with flip, sum over scales), EDAM (sum), 1-Stage (mean) (default: the model's label rule, else max-flip-sum)" })
      .option('bg-threshold', { type: 'number', describe: "background score: pixels where no class CAM exceeds it are background (default: the model's label rule, else 0.15)" })
      .option('use-image-labels', { type: 'boolean', default: false, describe: "keep only each image's labelled classes (from the data set's image-level labels)" })
      .option('cams', { type: 'boolean', default: true, describe: 'write CAMs as cams/<id>.npy (float32 [C, H, W]); --no-cams skips them' })
      .option('cam-format', { type: 'string', default: 'npy', choices: ['npy', 'irn-dict'], describe: "CAM file layout: npy = float32 [C, H, W]; irn-dict = IRNet's pickled dict {keys, cam (stride 4), high_res} (np.load(..., allow_pickle=True).item())" })
      .option('saliency', { type: 'string', describe: "folder of saliency maps <id>.png (grey 0..255, the image's size; the synthetic sets' SaliencyMaps/, or `wsss saliency`'s output). Alone: labels by the model's own rule, EDAM's Algorithm 1 with the model's θ, α, β (other models: the EDAM paper's 20, 0.25, 0.95), instead of --bg-threshold; with --fuse-saliency / --saliency-only: their maps (default <data>/SaliencyMaps)" })
      .option('workers', { type: 'number', describe: 'worker threads decoding/merging/writing around inference (default: a quarter of the cores on the CPU EP, all but one (≤ 8) on a GPU EP; 0 = none)' })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: all cores; on a busy machine, cores minus --workers can be faster)' })
      .option('shard', { type: 'string', describe: "label only shard i of n of the list ('2/4', 1-based, as node's --test-shard; list positions p with p mod n = i − 1); its summary goes to OUT/shards/. Default: from the scheduler (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX)" })
      .option('num-shards', { type: 'number', describe: 'shard count where the scheduler does not give it (Kubernetes Indexed Job: its completions; AWS Batch: the array size)' })
      .option('merge-summaries', { type: 'string', describe: "combine the shard summaries in this output folder into its summary.json; names missing and failed shards (exit 1 then). Needs no model or data" })
      .option('fuse-saliency', { type: 'boolean', default: false, describe: "labels by Algorithm 1 of Xu et al. (the Grad-CAM method): M = (CAM + S)/2 over the image's classes, background where M < --gamma1 or S < --gamma2, else argmax; maps from --saliency DIR (default <data>/SaliencyMaps)" })
      .option('saliency-only', { type: 'boolean', default: false, describe: "labels from saliency alone (a baseline): S ≥ --saliency-threshold gets the image's (first) class; needs --use-image-labels; maps from --saliency DIR (default <data>/SaliencyMaps)" })
      .option('gamma1', { type: 'number', default: ALGORITHM1_DEFAULTS.gamma1, describe: '--fuse-saliency: threshold γ1 on M = (CAM + S)/2 (S in [0, 1])' })
      .option('gamma2', { type: 'number', default: ALGORITHM1_DEFAULTS.gamma2, describe: '--fuse-saliency: threshold γ2 on the saliency S (in [0, 1])' })
      .option('saliency-threshold', { type: 'number', default: DEFAULT_SALIENCY_THRESHOLD, describe: '--saliency-only: salient where S ≥ this (S in [0, 1])' })
      .check((a) => {
        if (a['merge-summaries'] !== undefined) {
          if (a.model || a.data || a.shard || a['from-cams']) throw new CliError('--merge-summaries OUT only reads the shard summaries in OUT: --model, --data, --from-cams and --shard go with a labelling run', 2);
          return true;
        }
        const missing = (a['from-cams'] ? (['data', 'out'] as const) : (['model', 'data', 'out'] as const)).filter((k) => !a[k]);
        if (missing.length) throw new CliError(`missing required argument${missing.length > 1 ? 's' : ''}: ${missing.map((m) => `--${m}`).join(', ')}`, 2);
        return true;
      })
      .example('$0 pseudo-label --model runs/gradcam/model.onnx --data data/synth-small --out runs/gradcam/pseudo-fused --fuse-saliency --use-image-labels', "Grad-CAM fused with the data set's saliency maps (Xu et al.'s Algorithm 1)")
      .example('$0 pseudo-label --from-cams runs/gradcam/pseudo/cams --model runs/gradcam/model.onnx --data data/synth-small --out runs/gradcam/pseudo-sal --saliency-only --use-image-labels', 'relabel saved CAMs with another rule, without running the model')
      .example('$0 pseudo-label --model runs/cam/model.onnx --data data/synth-small --out runs/cam/pseudo', 'label the train split')
      .example('$0 pseudo-label --model m.onnx --data /shared/voc --out /shared/pseudo --shard 2/4', 'the second of four shards (one machine each; same --out)')
      .example('$0 pseudo-label --merge-summaries /shared/pseudo', 'after the shards: one summary.json, missing or failed shards named')
      .example('$0 pseudo-label --model runs/cam/model.onnx --data data/synth-small --out runs/cam/pseudo-crf --crf psa --use-image-labels', 'labels refined by the dense CRF')
      .example('$0 pseudo-label --model runs/edam/model.onnx --data data/synth-small --out runs/edam/pseudo-sal --saliency data/synth-small/SaliencyMaps --use-image-labels', "EDAM's saliency-guided labels (Algorithm 1)"),
  handler: async (a) => {
    if (a['merge-summaries'] !== undefined) return mergeSummaries(a['merge-summaries'], a['num-shards']);
    if (a.workers !== undefined && !(Number.isInteger(a.workers) && a.workers >= 0 && a.workers <= 64)) throw new CliError(`--workers must be an integer in [0, 64], got ${a.workers}`, 2);
    const crfParams = crfParamsFromArgs(a);
    if (crfParams && !(a['crf-alpha'] > 0)) throw new CliError(`--crf-alpha must be a positive number, got ${a['crf-alpha']}`, 2);
    const { resolveShard } = await import('../../runtime/node/pseudo-label/shards.ts');
    let shard;
    try {
      shard = resolveShard({ shard: a.shard, numShards: a['num-shards'] });
    } catch (e) {
      throw new CliError((e as Error).message, 2);
    }
    if (a['fuse-saliency'] && a['saliency-only']) throw new CliError('--fuse-saliency and --saliency-only are alternatives; give one', 2);
    for (const k of ['gamma1', 'gamma2', 'saliency-threshold'] as const)
      if (!(Number.isFinite(a[k]) && a[k] >= 0 && a[k] <= 1)) throw new CliError(`--${k} must be a number in [0, 1], got ${a[k]}`, 2);
    // --saliency DIR alone: the model's own rule (EDAM's Algorithm 1); the Grad-CAM rules by their flags.
    const saliency: SaliencyRequest | undefined = a['fuse-saliency']
      ? { dir: a.saliency, rule: 'fuse', gamma1: a.gamma1, gamma2: a.gamma2 }
      : a['saliency-only']
        ? { dir: a.saliency, rule: 'only', threshold: a['saliency-threshold'] }
        : a.saliency !== undefined
          ? { dir: a.saliency, rule: 'model' }
          : undefined;
    if (a['from-cams']) {
      if (crfParams) throw new CliError('--crf needs the model run (the CRF reads the image pixels it prepares), not --from-cams', 2);
      if (shard) throw new CliError('--shard goes with a model run, not --from-cams', 2);
      if (a.pamr && saliency) throw new CliError('--pamr relabels CAMs with a background score; it does not combine with saliency rules', 2);
      const { runPseudoLabelFromCams } = await import('../pseudo-label-cams-run.ts');
      const s = await runPseudoLabelFromCams({ cams: a['from-cams'], model: a.model, data: a.data!, list: a.list, split: a.split, out: a.out!, bgThreshold: a['bg-threshold'], useImageLabels: a['use-image-labels'], saliency, pamr: a.pamr });
      if (s.failed) throw new CliError(`${s.failed} of ${s.images} image(s) failed (listed above and in ${a.out}/summary.json)`, 1);
      return;
    }
    if (a.pamr) throw new CliError('--pamr goes with --from-cams (it refines saved CAMs)', 2);
    const { runPseudoLabel } = await import('../pseudo-label-run.ts');
    const summary = await runPseudoLabel({
      model: a.model!,
      data: a.data!,
      shard,
      list: a.list,
      split: a.split,
      out: a.out!,
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
    if (summary.failed) throw new CliError(`${summary.failed} of ${summary.images} image(s) failed (listed above and in ${shard ? `${a.out}/shards/` : `${a.out}/summary.json`})`, 1);
  },
};

/** `--merge-summaries OUT`: one summary.json from the shards' summaries, or the shards that are missing / failed. */
async function mergeSummaries(out: string, numShards?: number): Promise<void> {
  const { mergeShardSummaries } = await import('../../runtime/node/pseudo-label/shards.ts');
  const { writeFileAtomicSync } = await import('../../runtime/node/files/atomic-write.ts');
  const { join } = await import('node:path');
  let r;
  try {
    r = mergeShardSummaries(out, numShards);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  console.log(`${out}: ${r.complete.length} of ${r.count} shard(s) complete${r.complete.length ? ` (${r.complete.join(', ')})` : ''}`);
  if (r.missing.length) console.log(`missing (no summary: not run, still running, or killed): shard(s) ${r.missing.map((i) => `${i}/${r.count}`).join(', ')}`);
  for (const f of r.failed) console.log(`failed: shard ${f.index}/${r.count}: ${f.failed} image(s) failed${f.unlabelled > f.failed ? `, ${f.unlabelled - f.failed} not labelled` : ''} (see ${join(out, 'shards', `summary-${f.index}-of-${r.count}.json`)})`);
  for (const c of r.conflicts) console.log(`conflict: ${c}`);
  if (r.summary) {
    writeFileAtomicSync(join(out, 'summary.json'), JSON.stringify(r.summary, null, 2) + '\n');
    console.log(`wrote ${join(out, 'summary.json')} (${r.summary.labelled} of ${r.summary.images} images labelled)`);
  }
  const allComplete = r.complete.length === r.count && r.conflicts.length === 0;
  console.log(JSON.stringify({ out, shards: r.count, complete: r.complete, missing: r.missing, failed: r.failed, conflicts: r.conflicts, all_complete: allComplete, images: r.summary?.images ?? null, labelled: r.summary?.labelled ?? null }));
  if (!allComplete) throw new CliError(`${out}: not every shard is complete (${[r.missing.length && `${r.missing.length} missing`, r.failed.length && `${r.failed.length} with failures`, r.conflicts.length && `${r.conflicts.length} conflict(s)`].filter(Boolean).join(', ')}); rerun those shards (completed images are skipped)`, 1);
}
