// The work behind `wsss pseudo-label` (kept apart from the yargs definition so `--help` loads
// nothing heavy, and so `npm start` and the benchmark call the same code).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../runtime/node/files/atomic-write.ts';
import { openModelFile } from '../runtime/node/open-model-file.ts';
import { pseudoLabel, threadPlan, type PseudoLabelItem, type PseudoLabelSummary } from '../runtime/node/pseudo-label/pseudo-label.ts';
import { parseImageList, VocDataset } from '../runtime/node/dataset/voc-dataset.ts';
import { multiScaleCamRule, oneStageMaskRule } from '../runtime/cam/label-rule.ts';
import type { CamCrfOptions } from '../runtime/crf/cam-crf.ts';
import { CliError } from './errors.ts';

export interface PseudoLabelRunOptions {
  model: string;
  data: string;
  list?: string;
  split: string;
  out: string;
  providers: string[];
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
  /** labels by the dense CRF (see runtime/crf/cam-crf.ts) */
  crf?: CamCrfOptions;
  quiet?: boolean;
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
    run: { processed: s.processed, skipped_existing: s.skipped_existing, seconds: s.seconds, images_per_second: s.images_per_second, workers: s.workers },
  };
  return JSON.stringify(record, null, 2) + '\n';
}

export async function runPseudoLabel(o: PseudoLabelRunOptions): Promise<PseudoLabelSummary> {
  let ds: VocDataset;
  try {
    ds = VocDataset.open(o.data);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  let ids: string[];
  if (o.list) {
    if (!existsSync(o.list)) throw new CliError(`--list: ${o.list} does not exist`, 2);
    ids = parseImageList(readFileSync(o.list, 'utf8'));
  } else ids = ds.ids(o.split);
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
  if (onestage && o.crf) throw new CliError(`${o.model}: --crf applies to CAM models; refine a 1-Stage model's masks with wsss refine --crf`, 2);
  for (const f of model.failedProviders) if (!o.quiet) console.error(`note: execution provider ${f.provider} unavailable: ${f.error}`);
  let rule;
  try {
    rule = onestage ? { merge: 'mean' as const, bgThreshold: 0 } : multiScaleCamRule(model.metadata.labelRule, o.model);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  const { merge, bgThreshold } = rule;
  const summary = await pseudoLabel(model, items, {
    outDir: o.out,
    multiScale: { scales: o.scales, flip: o.flip, rule: o.merge ?? merge },
    bgThreshold: o.bgThreshold ?? bgThreshold,
    useImageLabels: o.useImageLabels,
    writeCams: o.writeCams,
    camFormat: o.camFormat,
    workers: o.workers,
    crf: o.crf,
    onestage,
    progress: !o.quiet,
  });
  await model.release();
  for (const f of summary.failures) console.error(`failed: ${f.file}: ${f.reason}`);
  writeFileAtomicSync(join(o.out, 'summary.json'), summaryFileText(summary, o.model));
  if (!o.quiet) {
    console.log(`${summary.processed} labelled, ${summary.skipped_existing} already done, ${summary.failed} failed, ${summary.images_per_second.toFixed(1)} images/s on ${summary.provider}`);
    console.log(JSON.stringify({ ...summary, failures: summary.failures.map((f) => `${f.file}: ${f.reason}`) }));
  }
  return summary;
}
