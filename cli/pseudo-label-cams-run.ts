// `wsss pseudo-label --from-cams DIR [--model M]`: label maps from CAMs saved by an earlier
// `wsss pseudo-label` (cams/<id>.npy, float32 [C, H, W], merged and max-normalised) with another
// label rule — the background threshold, EDAM's or Xu et al.'s Algorithm 1 with saliency, or
// saliency alone — without running the model again. --model M (the model that made the CAMs) is
// only read for its label rule (background threshold, EDAM's θ, α, β), so that the labels equal
// those of the model run. With `pamr`, the CAMs are refined by PAMR first (refineWithPamr: the
// background threshold becomes a constant background score). The benchmark's inference-only rows
// use it. Atomic writes, finished images skipped on a rerun, bad or missing CAM/saliency files
// named and skipped.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labelMapWithBackground, selectChannels } from '../runtime/cam/multiscale.ts';
import { removeStaleTempFiles, writeFileAtomicSync } from '../runtime/node/files/atomic-write.ts';
import { readNpyFloat32 } from '../runtime/node/files/npy.ts';
import { encodeIndexedPng } from '../runtime/node/files/palette-png.ts';
import { runResumableBatch, type BatchTally } from '../runtime/node/resumable-batch.ts';
import { readSaliencyMap, saliencyMapPath } from '../runtime/node/files/saliency-map.ts';
import { multiScaleCamRule, type MultiScaleCamRule } from '../runtime/cam/label-rule.ts';
import { parseModelMetadata } from '../runtime/model-metadata.ts';
import { readOnnxMetadataProps } from '../runtime/onnx-metadata-props.ts';
import { saliencyLabels } from '../runtime/saliency/saliency-labelling.ts';
import { resolveSaliency, type SaliencyRequest } from './pseudo-label-run.ts';
import { openDatasetList } from './dataset-list.ts';
import { refineWithPamr } from './pamr-refine-run.ts';
import { CliError } from './errors.ts';

export interface PseudoLabelFromCamsOptions {
  cams: string;
  data: string;
  list?: string;
  split: string;
  out: string;
  /** The model that made the CAMs, read for its label rule only (default: the CAM defaults). */
  model?: string;
  bgThreshold?: number;
  useImageLabels: boolean;
  saliency?: SaliencyRequest;
  /** Refine the CAMs with PAMR before the argmax (writes OUT/cams too). */
  pamr?: boolean;
  quiet?: boolean;
}

/** The label rule in an exported model's metadata (the model is not run). */
function modelLabelRule(path: string): MultiScaleCamRule {
  try {
    return multiScaleCamRule(parseModelMetadata(readOnnxMetadataProps(readFileSync(path), path), path).labelRule, path);
  } catch (e) {
    throw new CliError(`--model ${path}: ${(e as Error).message}`, 2);
  }
}

export async function runPseudoLabelFromCams(o: PseudoLabelFromCamsOptions) {
  if (!existsSync(o.cams)) throw new CliError(`--from-cams: ${o.cams} does not exist`, 2);
  if (o.saliency?.rule === 'only' && !o.useImageLabels) throw new CliError('--saliency-only needs --use-image-labels (saliency has no classes of its own)', 2);
  if (o.model && !existsSync(o.model)) throw new CliError(`--model: ${o.model} does not exist`, 2);
  const rule = o.model ? modelLabelRule(o.model) : multiScaleCamRule(null, 'default');
  const saliency = o.saliency ? resolveSaliency(o.saliency, o.data, rule.saliency) : undefined;
  const { ds, ids } = openDatasetList(o.data, o.list, o.split);
  const labelsDir = join(o.out, 'labels');
  mkdirSync(labelsDir, { recursive: true });
  removeStaleTempFiles(labelsDir);
  const bg = o.bgThreshold ?? rule.bgThreshold;
  const labelSavedCams = () =>
    runResumableBatch({
      ids,
      outputOf: (id) => join(labelsDir, `${id}.png`),
      progressLabel: o.quiet ? null : 'pseudo-label (saved CAMs)',
      async work(id) {
        const camPath = join(o.cams, `${id}.npy`);
        if (!existsSync(camPath)) throw new Error(`${camPath}: CAM file missing`);
        const a = readNpyFloat32(camPath);
        if (a.shape.length !== 3) throw new Error(`${camPath}: expected float32 [C, H, W], found [${a.shape.join(', ')}]`);
        const [c, h, w] = a.shape;
        const keep = o.useImageLabels ? (await ds.labels(id)).map((l) => l - 1) : undefined;
        let labels: Uint8Array;
        if (saliency) labels = saliencyLabels(saliency.labelling, a.data, c, readSaliencyMap(saliencyMapPath(saliency.dir, id), w, h), keep);
        else {
          const keys = keep ?? Array.from({ length: c }, (_, k) => k);
          labels = labelMapWithBackground(selectChannels(a.data, c, h * w, keys), keys, h * w, bg);
        }
        writeFileAtomicSync(join(labelsDir, `${id}.png`), encodeIndexedPng({ data: labels, width: w, height: h }, undefined, 1));
      },
    });
  // PAMR relabels through refineWithPamr (the background threshold as its constant background
  // score); every other rule labels each saved CAM here.
  const pamr = o.pamr ? await refineWithPamr({ data: o.data, maps: o.cams, out: o.out, cams: true, bgScore: bg, useImageLabels: o.useImageLabels, ids, progress: !o.quiet }) : null;
  const tally: BatchTally = pamr ? { ...pamr, done: pamr.refined } : await labelSavedCams();
  const failures = tally.failures.map((f) => `${f.id}: ${f.reason}`);
  const summary = {
    images: ids.length,
    processed: tally.done,
    skipped_existing: tally.skipped_existing,
    failed: tally.failed,
    failures,
    cams: o.cams,
    ...(o.model ? { label_rule_of: o.model } : {}),
    ...(saliency ? { saliency: { dir: saliency.dir, ...saliency.labelling } } : { bg_threshold: bg }),
    ...(pamr ? { pamr: { dilations: pamr.dilations, iterations: pamr.iterations, stride: pamr.stride, refined_cams: join(o.out, 'cams') } } : {}),
    use_image_labels: o.useImageLabels,
    seconds: tally.seconds,
    out: o.out,
  };
  writeFileAtomicSync(join(o.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  for (const f of failures) console.error(`failed: ${f}`);
  if (!o.quiet) console.log(JSON.stringify(summary));
  return summary;
}
