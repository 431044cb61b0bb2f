// The work behind `wsss pseudo-label` (kept apart from the yargs definition so `--help` loads
// nothing heavy, and so `npm start` and the benchmark call the same code).
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { removeStaleTempFiles, writeFileAtomicSync } from '../runtime/node/files/atomic-write.ts';
import { shardPositions, shardSummaryPath, SHARDS_DIR, type Shard, type ShardSummaryFile } from '../runtime/node/pseudo-label/shards.ts';
import { openModelFile } from '../runtime/node/open-model-file.ts';
import { pseudoLabel, threadPlan, type PseudoLabelItem, type PseudoLabelSummary } from '../runtime/node/pseudo-label/pseudo-label.ts';
import { DEFAULT_NORM_EPS, multiScaleCamRule, oneStageMaskRule } from '../runtime/cam/label-rule.ts';
import { PAPER_SALIENCY_FUSION, type SaliencyFusion } from '../runtime/cam/saliency-fusion.ts';
import type { CamCrfOptions } from '../runtime/crf/cam-crf.ts';
import type { SaliencyLabelling } from '../runtime/saliency/saliency-labelling.ts';
import { SALIENCY_DIR } from '../runtime/node/files/saliency-map.ts';
import { openDatasetList, type ModelOverDatasetOptions } from './dataset-list.ts';
import { CliError } from './errors.ts';

export interface PseudoLabelRunOptions extends ModelOverDatasetOptions {
  scales: number[];
  flip: boolean;
  /** View merge rule; default: the model's label rule (metadata 'label_rule'), else 'max-flip-sum'. */
  merge?: 'max-flip-sum' | 'sum' | 'mean';
  /** Background threshold; default: the model's label rule, else 0.15. */
  bgThreshold?: number;
  useImageLabels: boolean;
  writeCams: boolean;
  camFormat?: 'npy' | 'irn-dict';
  workers?: number;
  threads?: number;
  /** Labels from saliency maps instead of the background threshold (see SaliencyRequest). */
  saliency?: SaliencyRequest;
  /** labels by the dense CRF (see runtime/crf/cam-crf.ts) */
  crf?: CamCrfOptions;
  quiet?: boolean;
  /** Label only this shard of the list (runtime/node/pseudo-label/shards.ts); its summary goes to shards/. */
  shard?: Shard | null;
}

/**
 * Saliency labelling as `wsss pseudo-label` asks for it: the maps <dir>/<id>.png (default
 * <data>/SaliencyMaps) and the rule — 'model': the model's own label rule (EDAM's Algorithm 1
 * with its θ, α, β; the EDAM paper's 20, 0.25, 0.95 for a model whose rule names none), chosen by
 * `--saliency DIR` alone; 'fuse' (Xu et al.'s Algorithm 1, --fuse-saliency) and 'only'
 * (saliency alone, --saliency-only) by their flags.
 */
export type SaliencyRequest = { dir?: string } & ({ rule: 'model' } | { rule: 'fuse'; gamma1: number; gamma2: number } | { rule: 'only'; threshold: number });

/** The maps' folder and the rule of a request; `modelRule`: the saliency fusion the model's label rule names, if any. */
export function resolveSaliency(req: SaliencyRequest, data: string, modelRule: SaliencyFusion | null): { dir: string; labelling: SaliencyLabelling } {
  const dir = req.dir ?? join(data, SALIENCY_DIR);
  if (!existsSync(dir)) throw new CliError(`saliency maps: ${dir} does not exist (make them with \`wsss saliency\`, or give --saliency DIR)`, 2);
  const labelling: SaliencyLabelling =
    req.rule === 'model' ? (modelRule ?? PAPER_SALIENCY_FUSION) : req.rule === 'fuse' ? { rule: 'fuse', gamma1: req.gamma1, gamma2: req.gamma2 } : { rule: 'only', threshold: req.threshold };
  return { dir, labelling };
}

/**
 * summary.json describes the output folder, not one invocation: the same data, model and options
 * give the same file whether the folder was filled in one run or resumed after a kill — except
 * the `run` object (this invocation's counts and timings). The full summary, with the output
 * path, is printed as the last stdout line.
 */
export function summaryFileText(s: PseudoLabelSummary, model: string): string {
  const record = {
    images: s.images,
    labelled: s.processed + s.skipped_existing,
    failed: s.failed,
    failures: s.failures,
    model,
    provider: s.provider,
    scales: s.scales,
    flip: s.flip,
    merge_rule: s.merge_rule,
    bg_threshold: s.bg_threshold,
    use_image_labels: s.use_image_labels,
    cam_format: s.cam_format,
    ...(s.crf ? { crf: s.crf } : {}),
    ...(s.saliency ? { saliency: s.saliency } : {}),
    run: { processed: s.processed, skipped_existing: s.skipped_existing, seconds: s.seconds, images_per_second: s.images_per_second, workers: s.workers },
  };
  return JSON.stringify(record, null, 2) + '\n';
}

export async function runPseudoLabel(o: PseudoLabelRunOptions): Promise<PseudoLabelSummary> {
  if (o.saliency && o.crf) throw new CliError('saliency labelling (--saliency, --fuse-saliency, --saliency-only) and --crf are two ways to find the background: give one', 2);
  if (o.saliency?.rule === 'only' && !o.useImageLabels) throw new CliError('--saliency-only needs --use-image-labels (saliency has no classes of its own)', 2);
  if (o.saliency) resolveSaliency(o.saliency, o.data, null); // the folder checked before the model loads
  const opened = openDatasetList(o.data, o.list, o.split);
  const ds = opened.ds;
  let ids = opened.ids;
  const listImages = ids.length;
  const positions = o.shard ? shardPositions(listImages, o.shard) : ids.map((_, i) => i);
  if (o.shard) {
    ids = positions.map((p) => ids[p]);
    if (!o.quiet) console.log(`shard ${o.shard.index}/${o.shard.count} (from ${o.shard.from}): ${ids.length} of ${listImages} images (list positions p with p mod ${o.shard.count} = ${o.shard.index - 1})`);
  }
  const items: PseudoLabelItem[] = [];
  for (const id of ids) {
    let labels: number[] | undefined;
    if (o.useImageLabels) {
      try {
        labels = (await ds.labels(id)).map((l) => l - 1);
      } catch {
        labels = undefined; // reported per image by the pipeline
      }
    }
    items.push({ id, imagePath: ds.imagePath(id), labels });
  }
  // The session options of the thread plan (workers are settled once the provider is known).
  const plan = threadPlan({ cpuInference: true, workers: o.workers, threads: o.threads });
  const model = await openModelFile(o.model, { providers: o.providers, threads: plan.threads, sessionOptions: plan.sessionOptions });
  let onestage;
  try {
    onestage = oneStageMaskRule(model.metadata.labelRule, o.model) ?? undefined;
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  const maps = onestage ? 'masks' : 'raw_cams';
  if (!model.outputNames.includes(maps))
    throw new CliError(`${o.model}: the model has no '${maps}' output (outputs: ${model.outputNames.join(', ')}); export a ${onestage ? '1-Stage' : 'CAM'} graph`, 2);
  if (onestage && o.saliency) throw new CliError(`${o.model}: saliency labelling applies to CAM models, not to a 1-Stage model's masks`, 2);
  if (onestage && o.crf) throw new CliError(`${o.model}: --crf applies to CAM models; refine a 1-Stage model's masks with wsss refine --crf`, 2);
  for (const f of model.failedProviders) if (!o.quiet) console.error(`note: execution provider ${f.provider} unavailable: ${f.error}`);
  let rule;
  try {
    rule = onestage ? { merge: 'mean' as const, bgThreshold: 0, normEps: DEFAULT_NORM_EPS, saliency: null } : multiScaleCamRule(model.metadata.labelRule, o.model);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  const { merge, bgThreshold, normEps } = rule;
  const saliency = o.saliency ? resolveSaliency(o.saliency, o.data, rule.saliency) : undefined;
  const summary = await pseudoLabel(model, items, {
    outDir: o.out,
    multiScale: { scales: o.scales, flip: o.flip, rule: o.merge ?? merge, normEps },
    bgThreshold: o.bgThreshold ?? bgThreshold,
    useImageLabels: o.useImageLabels,
    saliency,
    writeCams: o.writeCams,
    camFormat: o.camFormat,
    workers: o.workers,
    crf: o.crf,
    onestage,
    progress: !o.quiet,
    sharedOutDir: Boolean(o.shard),
  });
  await model.release();
  for (const f of summary.failures) console.error(`failed: ${f.file}: ${f.reason}`);
  if (o.shard) {
    const path = shardSummaryPath(o.out, o.shard);
    removeStaleTempFiles(join(o.out, SHARDS_DIR), (target) => target === basename(path));
    writeFileAtomicSync(path, shardSummaryText(summary, o.model, o.shard, listImages, new Map(items.map((it, i) => [it.id, positions[i]]))));
  } else writeFileAtomicSync(join(o.out, 'summary.json'), summaryFileText(summary, o.model));
  if (!o.quiet) {
    console.log(`${summary.processed} labelled, ${summary.skipped_existing} already done, ${summary.failed} failed, ${summary.images_per_second.toFixed(1)} images/s on ${summary.provider}`);
    const shard = o.shard ? { shard: { index: o.shard.index, count: o.shard.count, from: o.shard.from, list_images: listImages } } : {};
    console.log(JSON.stringify({ ...summary, ...shard, failures: summary.failures.map((f) => `${f.file}: ${f.reason}`) }));
  }
  return summary;
}

/** A shard's summary: the unsharded fields, the shard, and each failure's position in the whole list (the merge restores list order). */
function shardSummaryText(s: PseudoLabelSummary, model: string, shard: Shard, listImages: number, positionOf: Map<string, number>): string {
  const record = JSON.parse(summaryFileText(s, model)) as Omit<ShardSummaryFile, 'shard'>;
  record.failures = s.failures.map((f) => ({ ...f, position: positionOf.get(f.id)! }));
  return JSON.stringify({ shard: { index: shard.index, count: shard.count, from: shard.from, list_images: listImages }, ...record }, null, 2) + '\n';
}
