// Batch pseudo-labelling of an image set with an exported CAM model: for each image,
// multi-scale + flip CAMs → label map, written as a palette PNG and the CAMs as .npy.
//
// Built to never lose work: every output is written atomically (temp + rename), an image is
// complete when its label PNG exists (written after its CAM file), so a rerun skips finished
// images and resumes after a kill with the same bytes an uninterrupted run writes. Unreadable
// images are reported by name and skipped.
//
// Built to keep the model busy: onnxruntime-node's session.run blocks the thread that calls it,
// so this thread does nothing but run the model, while worker threads (pseudo-label-tasks.ts)
// decode and scale the next images and merge, label, encode and write the previous ones. Memory
// stays bounded whatever the list length: at most `prefetch` prepared images and `2 × workers + 2`
// images being finished are alive at any time.

import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { runScaleViews, type MultiScaleOptions, type ScaleOutput } from '../../cam/multiscale-cams.ts';
import type { FloatTensor, OpenModel } from '../../session.ts';
import { removeStaleTempFiles } from '../files/atomic-write.ts';
import { Progress } from '../progress.ts';
import type { CamCrfOptions } from '../../crf/cam-crf.ts';
import type { CrfParams } from '../../crf/params.ts';
import { finishImage, prepareImage, type CamFormat, type FinishRequest, type PreparedImage } from './pseudo-label-tasks.ts';
import { saliencyMapPath } from '../files/saliency-map.ts';
import type { SaliencyLabelling } from '../../saliency/saliency-labelling.ts';
import type { PseudoLabelTask, PseudoLabelTaskResult } from './pseudo-label-worker.ts';
import { WorkerPool } from '../worker-pool.ts';
import type { OneStageMaskRule } from '../../cam/label-rule.ts';

export type { CamFormat } from './pseudo-label-tasks.ts';

export interface PseudoLabelItem {
  id: string;
  imagePath: string;
  /** 0-based foreground classes present (image-level labels), when known. */
  labels?: number[];
}

export interface PseudoLabelOptions {
  outDir: string;
  multiScale: MultiScaleOptions;
  bgThreshold: number;
  /** Keep only the image's labelled classes (needs item.labels). */
  useImageLabels: boolean;
  /** Labels by the dense CRF on the CAMs (psa's background rule, see runtime/crf/cam-crf.ts) instead of bgThreshold. */
  crf?: CamCrfOptions;
  /** Labels from saliency maps <dir>/<id>.png by `labelling` (EDAM's or Xu et al.'s Algorithm 1, or saliency alone) instead of bgThreshold. */
  saliency?: { dir: string; labelling: SaliencyLabelling };
  /** A 1-Stage model (label rule 'onestage-masks'): its 'masks' output merged by the 1-Stage rule. */
  onestage?: OneStageMaskRule;
  /** Write the CAMs (.npy) next to the labels (default true). */
  writeCams?: boolean;
  /** CAM file layout (default 'npy': float32 [C, H, W]; 'irn-dict': IRNet's pickled {keys, cam, high_res}). */
  camFormat?: 'npy' | 'irn-dict';
  /** Worker threads for the CPU work around inference (default: defaultWorkers(model.provider); 0 = all on this thread). */
  workers?: number;
  /** Prepared images (model inputs) kept ready ahead of the model (default 2 × workers + 2). */
  prefetch?: number;
  progress?: boolean;
  /**
   * Other processes write into the same folder (the shards of one job): clean only the temp
   * files of this run's images at start (default: every temp file in the output folders).
   */
  sharedOutDir?: boolean;
}

export interface PseudoLabelFailure {
  id: string;
  file: string;
  reason: string;
}

export interface PseudoLabelSummary {
  images: number;
  processed: number;
  skipped_existing: number;
  failed: number;
  failures: PseudoLabelFailure[];
  images_per_second: number;
  seconds: number;
  provider: string;
  scales: number[];
  flip: boolean;
  merge_rule: string;
  bg_threshold: number;
  use_image_labels: boolean;
  cam_format: CamFormat;
  /** the saliency maps and the rule that made the labels from them, when it did */
  saliency?: { dir: string } & SaliencyLabelling;
  /** the dense CRF's parameters and background exponent, when labels went through it */
  crf?: CrfParams & { alpha: number };
  workers: number;
  out: string;
}

export function labelPath(outDir: string, id: string): string {
  return join(outDir, 'labels', `${id}.png`);
}
export function camPath(outDir: string, id: string): string {
  return join(outDir, 'cams', `${id}.npy`);
}

/**
 * How a pseudo-labelling run shares the CPU between onnxruntime and the worker threads.
 *
 * Workers: on the CPU EP the work around inference is about a quarter of the model's (cam-tiny,
 * bench/pseudo-label.ts), so a quarter of the cores; on a GPU EP inference leaves the CPU free
 * and every core but one (at most 8) prepares and finishes images.
 * onnxruntime keeps its default intra-op threads (all cores: the highest throughput on an idle
 * machine) but with spin-waiting off: idle onnxruntime threads that spin take the cores the
 * workers need (on a busy 2-core machine spinning also made session.run itself 1.5× slower).
 * On a busy machine, `threads: cores − workers` keeps inference and workers off each other's cores.
 */
export interface ThreadPlan {
  workers: number;
  /** onnxruntime intra-op threads (undefined: onnxruntime's default, all cores). */
  threads: number | undefined;
  sessionOptions: { extra?: Record<string, unknown> };
}

export function threadPlan(o: { cpuInference: boolean; workers?: number; threads?: number; cores?: number }): ThreadPlan {
  const cores = o.cores ?? availableParallelism();
  const workers = o.workers ?? (o.cpuInference ? Math.max(1, Math.round(cores / 4)) : Math.max(1, Math.min(8, cores - 1)));
  return { workers, threads: o.threads, sessionOptions: workers > 0 ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {} };
}

/** The default worker count for a model running on `provider`. */
export function defaultWorkers(provider = 'cpu'): number {
  return threadPlan({ cpuInference: provider === 'cpu' }).workers;
}

/** The prepare and finish halves, in worker threads or (workers = 0) on this thread. */
interface Tasks {
  prepare(path: string, multiScale: MultiScaleOptions, keepPixels: boolean): Promise<PreparedImage>;
  finish(req: FinishRequest): Promise<void>;
  close(): Promise<void>;
}

function inlineTasks(): Tasks {
  return { prepare: prepareImage, finish: finishImage, close: async () => {} };
}

function workerTasks(n: number): Tasks {
  const pool = new WorkerPool<PseudoLabelTask, PseudoLabelTaskResult>(new URL('./pseudo-label-worker.ts', import.meta.url), n);
  return {
    prepare: (path, multiScale, keepPixels) => pool.run({ kind: 'prepare', path, multiScale, keepPixels }) as Promise<PreparedImage>,
    finish: async (req) => {
      const transfer = req.outputs.flatMap((o) => [o.rawCams.data.buffer, ...(o.scores ? [o.scores.data.buffer] : [])]) as ArrayBuffer[];
      await pool.run({ kind: 'finish', ...req }, transfer);
    },
    close: () => pool.close(),
  };
}

/** A tensor in a buffer of its own (session outputs may share or own native memory; this one can be transferred). */
function ownCopy(t: FloatTensor): FloatTensor {
  return { data: new Float32Array(t.data), dims: [...t.dims] };
}

export async function pseudoLabel(model: OpenModel, items: PseudoLabelItem[], o: PseudoLabelOptions): Promise<PseudoLabelSummary> {
  const camFormat: CamFormat = o.writeCams === false ? 'none' : (o.camFormat ?? 'npy');
  if (o.sharedOutDir) {
    const mine = new Set(items.flatMap((it) => [`${it.id}.png`, `${it.id}.npy`]));
    for (const dir of [join(o.outDir, 'labels'), join(o.outDir, 'cams')]) removeStaleTempFiles(dir, (target) => mine.has(target));
  } else for (const dir of [o.outDir, join(o.outDir, 'labels'), join(o.outDir, 'cams')]) removeStaleTempFiles(dir);
  mkdirSync(join(o.outDir, 'labels'), { recursive: true });
  if (camFormat !== 'none') mkdirSync(join(o.outDir, 'cams'), { recursive: true });
  // Complete = label map present (it is written after the CAM file).
  const done = (it: PseudoLabelItem) => existsSync(labelPath(o.outDir, it.id)) && (camFormat === 'none' || existsSync(camPath(o.outDir, it.id)));
  const todo = items.filter((it) => !done(it));
  const skipped = items.length - todo.length;
  const workers = o.workers ?? defaultWorkers(model.provider);
  const prefetch = Math.max(1, o.prefetch ?? 2 * workers + 2);
  const maxFinishing = 2 * workers + 2;
  const progress = o.progress === false ? null : new Progress({ total: items.length, label: 'pseudo-label', unit: 'img', startAt: skipped });
  const failures: PseudoLabelFailure[] = [];
  const order = new Map(items.map((it, i) => [it.id, i]));
  const fail = (item: PseudoLabelItem, reason: string) => {
    failures.push({ id: item.id, file: item.imagePath, reason });
    progress?.tick(1, { failed: failures.length });
  };
  const t0 = performance.now();
  let processed = 0;
  const tasks = todo.length === 0 ? inlineTasks() : workers > 0 ? workerTasks(workers) : inlineTasks();
  try {
    // Prepared images in list order, `prefetch` ahead of the model.
    const ready: Promise<PreparedImage>[] = [];
    let next = 0;
    const refill = () => {
      while (next < todo.length && ready.length < prefetch) {
        const p = tasks.prepare(todo[next++].imagePath, o.multiScale, o.crf !== undefined);
        p.catch(() => {}); // awaited in order below; a failure there ends the run, not an unhandled rejection
        ready.push(p);
      }
    };
    refill();
    const finishing = new Set<Promise<void>>();
    for (const item of todo) {
      const prepared = await ready.shift()!;
      refill();
      if (!prepared.ok) {
        fail(item, prepared.reason);
        continue;
      }
      let keep: number[] | undefined;
      if (o.useImageLabels) {
        if (!item.labels) {
          fail(item, 'no image-level labels for this image (--use-image-labels)');
          continue;
        }
        keep = item.labels;
      }
      let outputs: ScaleOutput[];
      try {
        const views = await runScaleViews((input) => model.run({ image: input }), prepared.views, o.onestage ? 'masks' : 'raw_cams');
        outputs = views.map(({ scale, rawCams, scores }) => ({ scale, rawCams: ownCopy(rawCams), scores: scores ? ownCopy(scores) : undefined }));
      } catch (e) {
        fail(item, `inference failed: ${(e as Error).message}`);
        continue;
      }
      const finish = tasks
        .finish({
          outputs,
          height: prepared.height,
          width: prepared.width,
          multiScale: o.multiScale,
          bgThreshold: o.bgThreshold,
          keep,
          camFormat,
          ...(o.crf && prepared.pixels ? { crf: { ...o.crf, pixels: prepared.pixels } } : {}),
          ...(o.saliency ? { saliency: { path: saliencyMapPath(o.saliency.dir, item.id), labelling: o.saliency.labelling } } : {}),
          ...(o.onestage ? { onestage: o.onestage } : {}),
          labelPath: labelPath(o.outDir, item.id),
          camPath: camPath(o.outDir, item.id),
        })
        .then(
          () => {
            processed++;
            progress?.tick(1, failures.length ? { failed: failures.length } : undefined);
          },
          (e: Error) => fail(item, e.message),
        );
      finishing.add(finish);
      void finish.finally(() => finishing.delete(finish));
      while (finishing.size >= maxFinishing) await Promise.race(finishing);
    }
    await Promise.all(finishing);
  } finally {
    await tasks.close();
  }
  progress?.finish();
  failures.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  const seconds = (performance.now() - t0) / 1000;
  return {
    images: items.length,
    processed,
    skipped_existing: skipped,
    failed: failures.length,
    failures,
    images_per_second: seconds > 0 ? processed / seconds : 0,
    seconds,
    provider: model.provider,
    scales: o.multiScale.scales,
    flip: o.multiScale.flip,
    merge_rule: o.onestage ? `onestage-masks (mean, bg^${o.onestage.bgPow})` : o.multiScale.rule,
    bg_threshold: o.bgThreshold,
    use_image_labels: o.useImageLabels,
    cam_format: camFormat,
    ...(o.crf ? { crf: { ...o.crf.params, alpha: o.crf.alpha } } : {}),
    ...(o.saliency ? { saliency: { dir: o.saliency.dir, ...o.saliency.labelling } } : {}),
    workers,
    out: o.outDir,
  };
}
