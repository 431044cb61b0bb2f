// Benchmark: how much does the batch pseudo-labelling pipeline cost on top of inference alone,
// and does its memory stay flat?
//
// In one process, on one model and one data set:
//   pipeline — the real pseudoLabel (runtime/node/pseudo-label/pseudo-label.ts) over N images: decode,
//              scale + flip views, session.run per scale, merge, label map, palette PNG + CAM
//              .npy written atomically into a temp folder;
//   bare     — session.run alone on the same view tensors (same scales, flips, sizes),
//              prepared beforehand from real images of the set by the pipeline's own prepare
//              step, same session (the thread split `wsss pseudo-label` uses, threadPlan). For
//              reference, bare is also timed on a session with onnxruntime's defaults. Tensors of a pool of images are reused in turn (conv
//              inference time does not depend on pixel values, and keeping N images' views in
//              memory would take gigabytes). Half the bare runs go before the pipeline and half
//              after, so drifting machine load hits both alike.
// overhead_ratio = pipeline time / bare time for the same number of images (target ≤ 1.15).
// work_cpu_ms_per_image: CPU of the work around inference alone (prepare + finish of one image,
// run inline on a sample with nothing else running). With inference as fast as bare and that work
// added, the pipeline needs at least (bare CPU + work CPU) / cores of wall time per image, so
// cpu_bound_ratio_floor = max(1, (bare CPU + work CPU) / (cores × bare wall time)) estimates the best
// ratio this machine allows, however well the work overlaps inference.
// RSS (the whole process, worker threads included) is sampled every 100 ms during the pipeline.
//
// The data set (synthetic, `wsss synth` generator, --size px) and the model (the CAM method on
// --backbone, default cam-tiny, e.g. resnet50 (output stride 16), with a seeded random
// initialisation; inference cost does not depend on training) are made once and cached under
// .wsss-cache/bench-pseudo-label/.
//
//   npm run bench -- pseudo-label [--images 2000] [--size 128] [--backbone cam-tiny] [--ep cpu] [--threads N]
//                                 [--workers N] [--scales 1,0.5,1.5,2] [--cam-format npy|irn-dict]
// The last line is one JSON object: pipeline_ips, bare_ips, overhead_ratio, rss_start_mb,
// rss_peak_mb, rss_end_mb, and the settings.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { exportOnnx } from '../export/export-onnx.ts';
import { initialiseAll } from '../graphs/module.ts';
import { resolveOptions } from '../graphs/methods/method.ts';
import { getMethod } from '../graphs/methods/registry.ts';
import { defaultClassNames } from '../graphs/registry.ts';
import { runScaleViews } from '../runtime/cam/multiscale-cams.ts';
import { openModelFile } from '../runtime/node/open-model-file.ts';
import { pseudoLabel, threadPlan, type PseudoLabelItem } from '../runtime/node/pseudo-label/pseudo-label.ts';
import { finishImage, prepareImage } from '../runtime/node/pseudo-label/pseudo-label-tasks.ts';
import { VocDataset } from '../runtime/node/dataset/voc-dataset.ts';
import { defaultSynthParams } from '../train/data/synth/params.ts';
import { writeSynthDataset } from '../train/data/synth/write-dataset.ts';
import { benchArg } from './lib/args.ts';

const images = Number(benchArg('images', '2000'));
const size = Number(benchArg('size', '128'));
const ep = benchArg('ep', 'cpu');
const threadsOpt = benchArg('threads', '');
const workersOpt = benchArg('workers', '');
// The thread split `wsss pseudo-label` uses (threadPlan), unless overridden.
const plan = threadPlan({ cpuInference: ep === 'cpu', threads: threadsOpt ? Number(threadsOpt) : undefined, workers: workersOpt ? Number(workersOpt) : undefined });
const { threads, workers } = plan;
const scales = benchArg('scales', '1,0.5,1.5,2').split(',').map(Number);
const camFormat = benchArg('cam-format', 'npy') as 'npy' | 'irn-dict';
const multiScale = { scales, flip: true, rule: 'max-flip-sum' as const };
const BARE_POOL = 16;
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

// --- inputs: data set and model, cached ------------------------------------------------------
const cache = resolve(import.meta.dirname, '..', '.wsss-cache', 'bench-pseudo-label');
const dataDir = join(cache, `synth-${size}px-${images}`);
const backbone = benchArg('backbone', 'cam-tiny');
const modelPath = join(cache, `cam-${backbone}-random.onnx`);
mkdirSync(cache, { recursive: true });
{
  const p = defaultSynthParams('standard', 0);
  p.size = size;
  p.train = images;
  p.val = 0;
  const t = performance.now();
  const r = await writeSynthDataset(dataDir, p);
  if (r.status !== 'exists') console.log(`generated ${images} synthetic ${size} px images in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
if (!existsSync(modelPath)) {
  const cam = getMethod('cam');
  const { graph } = cam.build({ backbone, classNames: defaultClassNames(6), options: resolveOptions(cam, {}) });
  writeFileSync(modelPath, exportOnnx(graph, initialiseAll(graph.module, 0), { classNames: defaultClassNames(6) }));
}
const ds = VocDataset.open(dataDir);
const items: PseudoLabelItem[] = ds.ids('train').slice(0, images).map((id) => ({ id, imagePath: ds.imagePath(id) }));
if (items.length < images) throw new Error(`${dataDir} has ${items.length} train images, expected ${images}`);

const model = await openModelFile(modelPath, { providers: [ep], threads, sessionOptions: plan.sessionOptions });
// For reference only: bare inference on a session with onnxruntime's defaults (all cores, spin-waiting).
const defaultSession = (await openModelFile(modelPath, { providers: [ep] })).session;
const ort = (await import('onnxruntime-node')) as unknown as { Tensor: new (t: 'float32', d: Float32Array, dims: readonly number[]) => Tensor };
console.log(
  `pseudo-label bench: ${images} images of ${size}×${size} px, scales ${scales.join(',')} + flip, CAM on ${backbone} (random init), ` +
    `${model.provider} EP, ${threads ?? `all ${availableParallelism()}`} intra-op threads (no spin-waiting), ${workers} worker thread(s), ${availableParallelism()} cores`,
);

// --- bare: session.run on prepared view tensors ----------------------------------------------
const pool: Record<string, Tensor>[][] = [];
for (const item of items.slice(0, BARE_POOL)) {
  const p = await prepareImage(item.imagePath, multiScale);
  if (!p.ok) throw new Error(`${item.imagePath}: ${p.reason}`);
  pool.push(p.views.map((v) => ({ image: new ort.Tensor('float32', v.input.data, v.input.dims) })));
}
const session: InferenceSession = model.session;
/** CPU seconds of the whole process (every thread: onnxruntime's, the workers', libuv's). */
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let bareCpu = 0;
async function bare(n: number, offset: number, on = session): Promise<number> {
  const t = performance.now();
  const c = cpuSeconds();
  for (let i = 0; i < n; i++) for (const feeds of pool[(offset + i) % pool.length]) await on.run(feeds);
  if (on === session) bareCpu += cpuSeconds() - c;
  return (performance.now() - t) / 1000;
}

// --- warm-up (both paths) --------------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'wsss-bench-pl-'));
try {
  await bare(BARE_POOL, 0);
  await bare(BARE_POOL, 0, defaultSession);
  const reference = Math.min(images, 200);
  const defaultBareSeconds = await bare(reference, 0, defaultSession);
  await pseudoLabel(model, items.slice(0, 8), { outDir: join(work, 'warmup'), multiScale, bgThreshold: 0.15, useImageLabels: false, camFormat, workers, progress: false });

  // --- the work around inference alone, on this thread --------------------------------------
  // In chunks of 10 images: all prepares, then the model runs (not counted), then all finishes,
  // so the model's runs do not evict the work's data from the caches between its two halves
  // (and only 10 images' views are alive at once). The first chunk warms the JIT up and is not
  // counted.
  const CHUNK = 10;
  const workSample = items.slice(0, Math.min(items.length, 110));
  let workCpu = 0;
  let workCounted = 0;
  for (let start = 0; start < workSample.length; start += CHUNK) {
    const chunk = workSample.slice(start, start + CHUNK);
    const counted = start > 0 || workSample.length <= CHUNK;
    let c = cpuSeconds();
    const prepared = await Promise.all(chunk.map((item) => prepareImage(item.imagePath, multiScale)));
    let cpu = cpuSeconds() - c;
    const outputs = [];
    for (const [k, p] of prepared.entries()) {
      if (!p.ok) throw new Error(`${chunk[k].imagePath}: ${p.reason}`);
      outputs.push({ p, views: await runScaleViews((input) => model.run({ image: input }), p.views) });
    }
    c = cpuSeconds();
    for (const [k, { p, views }] of outputs.entries()) {
      await finishImage({ outputs: views, height: p.height, width: p.width, multiScale, bgThreshold: 0.15, camFormat, labelPath: join(work, `work-${k}.png`), camPath: join(work, `work-${k}.npy`) });
    }
    cpu += cpuSeconds() - c;
    if (counted) {
      workCpu += cpu;
      workCounted += chunk.length;
    }
  }
  const workCpuMs = (1000 * workCpu) / workCounted;

  const half = Math.floor(images / 2);
  bareCpu = 0;
  const bare1 = await bare(half, 0);

  // --- pipeline, with RSS sampled ------------------------------------------------------------
  const samples: { t: number; rss: number }[] = [];
  const t0 = performance.now();
  const sample = () => samples.push({ t: (performance.now() - t0) / 1000, rss: process.memoryUsage.rss() });
  sample();
  const cpu0 = cpuSeconds();
  const timer = setInterval(sample, 100);
  const summary = await pseudoLabel(model, items, { outDir: join(work, 'out'), multiScale, bgThreshold: 0.15, useImageLabels: false, camFormat, workers, progress: true });
  clearInterval(timer);
  const pipelineCpu = cpuSeconds() - cpu0;
  sample();
  const pipelineSeconds = summary.seconds;
  if (summary.processed !== images) throw new Error(`pipeline processed ${summary.processed} of ${images} images (${summary.failed} failed)`);

  const bare2 = await bare(images - half, half);
  const bareSeconds = bare1 + bare2;

  const pipelineIps = images / pipelineSeconds;
  const bareIps = images / bareSeconds;
  const ratio = pipelineSeconds / bareSeconds;
  // Flatness: RSS over the pipeline in tenths of its duration (after the first tenth = warm-up).
  const total = samples[samples.length - 1].t;
  const deciles = Array.from({ length: 10 }, (_, k) => {
    const inside = samples.filter((s) => s.t >= (k * total) / 10 && s.t <= ((k + 1) * total) / 10);
    return mb(Math.max(...inside.map((s) => s.rss)));
  });
  const afterWarmup = samples.filter((s) => s.t >= total / 10).map((s) => s.rss);
  const rssStart = mb(samples[0].rss);
  const rssPeak = mb(Math.max(...samples.map((s) => s.rss)));
  const rssEnd = mb(samples[samples.length - 1].rss);
  const growth = mb(Math.max(...afterWarmup) - Math.min(...afterWarmup));

  console.log(`pipeline: ${pipelineIps.toFixed(2)} images/s (${pipelineSeconds.toFixed(1)} s)   bare session.run: ${bareIps.toFixed(2)} images/s (${bareSeconds.toFixed(1)} s: ${bare1.toFixed(1)} before + ${bare2.toFixed(1)} after)`);
  console.log(`overhead ratio (pipeline time / bare time): ${ratio.toFixed(3)}  (target ≤ 1.15)`);
  const defaultBareIps = reference / defaultBareSeconds;
  console.log(`for reference, bare session.run with onnxruntime's default session options (all cores, spin-waiting; ${reference} images): ${defaultBareIps.toFixed(2)} images/s`);
  // CPU time is less sensitive than wall time to other work on the machine.
  const pipeCpuMs = (1000 * pipelineCpu) / images;
  const bareCpuMs = (1000 * bareCpu) / images;
  console.log(`CPU per image (all threads): pipeline ${pipeCpuMs.toFixed(1)} ms, bare ${bareCpuMs.toFixed(1)} ms (ratio ${(pipeCpuMs / bareCpuMs).toFixed(3)})`);
  const cores = availableParallelism();
  const floor = Math.max(1, (bareCpuMs + workCpuMs) / (cores * ((1000 * bareSeconds) / images)));
  console.log(
    `work around inference alone (decode, views, merge, label map, encode, write; inline on ${workCounted} images): ${workCpuMs.toFixed(1)} ms CPU per image → ` +
      `on ${cores} cores with inference as fast as bare, the ratio would be at least ${floor.toFixed(3)} even with perfect overlap (CPU-bound floor, an estimate: both CPU figures move with the machine's load)`,
  );
  console.log(`RSS MB: start ${rssStart}, peak ${rssPeak}, end ${rssEnd}; peak per tenth of the run: ${deciles.join(' ')}; spread after the first tenth ${growth}`);
  console.log(
    JSON.stringify({
      bench: 'pseudo-label',
      backbone,
      images,
      size,
      scales,
      flip: true,
      cam_format: camFormat,
      provider: model.provider,
      threads: threads ?? null,
      workers,
      cores: availableParallelism(),
      pipeline_ips: Math.round(pipelineIps * 100) / 100,
      bare_ips: Math.round(bareIps * 100) / 100,
      bare_ips_default_session: Math.round(defaultBareIps * 100) / 100,
      overhead_ratio: Math.round(ratio * 1000) / 1000,
      pipeline_cpu_ms_per_image: Math.round(pipeCpuMs * 10) / 10,
      bare_cpu_ms_per_image: Math.round(bareCpuMs * 10) / 10,
      work_cpu_ms_per_image: Math.round(workCpuMs * 10) / 10,
      cpu_bound_ratio_floor: Math.round(floor * 1000) / 1000,
      rss_start_mb: rssStart,
      rss_peak_mb: rssPeak,
      rss_end_mb: rssEnd,
      rss_deciles_mb: deciles,
      rss_spread_after_warmup_mb: growth,
    }),
  );
} finally {
  await model.release();
  await defaultSession.release();
  rmSync(work, { recursive: true, force: true });
}
