// Benchmark: should multi-scale + flip CAM aggregation live in the exported graph or in runtime/?
//
// Both variants compute cam-tiny's VWE-style CAM of one image over scales 1, 0.5, 1.5, 2 with
// flips (rule 'max-flip-sum', then / (max + 1e-5)), with the same parameters:
//   (a) runtime: the plain exported cam-tiny; multiScaleCams (runtime/cam/multiscale-cams.ts)
//       scales the image in JS, makes one session.run per scale on [image, mirror] (batch 2)
//       and merges the raw_cams views in JS — what `wsss pseudo-label` does;
//   (b) in-graph: one exported graph for a fixed H×W that mirrors the input, resizes it to
//       every scale (bilinear), runs the trunk per scale, un-flips, maxes, upsamples, sums and
//       normalises inside the model — one session.run per image.
// (b) needs a fixed input size per exported model (the scaled sizes are baked in) and plain
// bilinear downscaling (ONNX Resize has no antialiasing before opset 18), while (a) shrinks with
// an antialiased filter like PIL. Before timing, (b) is checked against the runtime merge of the
// plain model's views on the same bilinear-scaled inputs: a fast wrong graph is no result.
//
// Runs alternate between (a) and (b) so machine noise hits both alike; figures are medians.
// The last line is one JSON object: per size, images/s of each variant and (a)'s split
// between session.run and JS.
//
//   npm run bench -- cam-multiscale [--sizes 64,256] [--runs 20] [--threads 2] [--ep cpu|cuda]

import * as ort from 'onnxruntime-node';
import { exportOnnx } from '../export/export-onnx.ts';
import { divideByPeak, CAM_NORM_EPS } from '../graphs/cam-head.ts';
import type { CamNet } from '../graphs/methods/cam/model.ts';
import { normaliseInput, type GraphDef } from '../graphs/graph.ts';
import { initialiseAll } from '../graphs/module.ts';
import type { Ops, Tensor } from '../graphs/ops.ts';
import { defaultClassNames, getGraph } from '../graphs/registry.ts';
import { Rng } from '../graphs/rng.ts';
import { DEFAULT_MULTISCALE, multiScaleCams, viewsOfOutput, withFlippedTwin, type PlanarImage } from '../runtime/cam/multiscale-cams.ts';
import { mergeViews, normaliseByMax, type CamView } from '../runtime/cam/multiscale.ts';
import { resizeBilinearCHW, scaledSize } from '../runtime/resize.ts';
import { openModel, type OrtModule } from '../runtime/session.ts';
import { benchArg } from './lib/args.ts';
import { median } from './lib/stats.ts';

const sizes = benchArg('sizes', '64,256').split(',').map(Number);
const runs = Number(benchArg('runs', '20'));
const threads = Number(benchArg('threads', '2'));
const ep = benchArg('ep', 'cpu');
const { scales } = DEFAULT_MULTISCALE;
const NUM_CLASSES = 6;

/** x · J with J the W×W anti-identity: a horizontal flip as one MatMul (the op set has no flip; exact in float). */
function flipWidth(ops: Ops, x: Tensor, w: number): Tensor {
  const j = new Float32Array(w * w);
  for (let i = 0; i < w; i++) j[i * w + (w - 1 - i)] = 1;
  return ops.matmul(x, ops.constant(j, [w, w]));
}

/** Variant (b): cam-tiny with the multi-scale + flip merge inside, for a fixed H×W, batch 1. */
function inGraphMultiScale(base: GraphDef, H: number, W: number): GraphDef {
  const net = base.module as CamNet;
  const stride = base.outputStride;
  return {
    ...base,
    name: 'cam-tiny-multiscale',
    outputs: [
      { name: 'cams', meaning: `merged CAMs [1, C, ${H}, ${W}] over scales ${scales.join(', ')} with flips, / (max + 1e-5)` },
      { name: 'probabilities', meaning: 'max over views of sigmoid(scores) [1, C]' },
    ],
    inference(ops, inputs) {
      // Normalisation is per-channel affine, so it commutes with bilinear resizing: once, up front.
      const x = normaliseInput(ops, inputs.image, base.normalisation!);
      const pair = ops.concat([x, flipWidth(ops, x, W)], 0);
      let sum: Tensor | null = null;
      let probs: Tensor | null = null;
      for (const s of scales) {
        const [h, w] = scaledSize(H, W, s);
        const xs = s === 1 ? pair : ops.resizeBilinear(pair, { size: [h, w] }, false);
        const f = net.backbone.forward(ops, xs)[net.backbone.lastFeatureStage.name];
        const raw = net.head.rawCams(ops, f);
        const fw = Math.floor((w - 1) / stride) + 1; // cam-tiny's two stride-2 3×3 convs with padding 1
        const [plain, mirrored] = ops.split(raw, [1, 1], 0);
        const cam = ops.maximum(plain, flipWidth(ops, mirrored, fw));
        const up = ops.resizeBilinear(cam, { size: [H, W] }, false);
        sum = sum ? ops.add(sum, up) : up;
        const p = ops.reduceMax(ops.sigmoid(net.head.scores(ops, f)), [0], true);
        probs = probs ? ops.maximum(probs, p) : p;
      }
      return { cams: divideByPeak(ops, sum!, CAM_NORM_EPS), probabilities: probs! };
    },
  };
}

function structuredImage(seed: number, h: number, w: number): PlanarImage {
  const rng = new Rng(seed);
  const discs = Array.from({ length: 5 }, () => ({ y: rng.uniform() * h, x: rng.uniform() * w, r: 0.05 * h + rng.uniform() * 0.25 * Math.min(h, w), rgb: [0, 1, 2].map(() => 255 * rng.uniform()) }));
  const data = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let v = 60 + 120 * (c === 0 ? y / h : x / w) + 10 * rng.normal();
        for (const d of discs) if ((y - d.y) ** 2 + (x - d.x) ** 2 < d.r ** 2) v = d.rgb[c] + 5 * rng.normal();
        data[(c * h + y) * w + x] = Math.min(255, Math.max(0, v));
      }
  return { data, height: h, width: w };
}

const ortModule = ort as unknown as OrtModule;
const base = getGraph('cam-tiny', { classNames: defaultClassNames(NUM_CLASSES) });
const values = initialiseAll(base.module, 5);
const sessionOptions = { executionProviders: [ep], intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 as const };
const plain = await openModel(ortModule, exportOnnx(base, values), { providers: [ep], threads, source: 'cam-tiny', sessionOptions });

const results: Record<string, unknown> = {};
for (const size of sizes) {
  const img = structuredImage(size, size, size);
  const merged = await openModel(ortModule, exportOnnx(inGraphMultiScale(base, size, size), values), { providers: [ep], threads, source: 'cam-tiny-multiscale', sessionOptions });
  const feed = { image: { data: img.data, dims: [1, 3, size, size] } };

  // Same answer first: (b) against the runtime merge of (a)'s model on bilinear-scaled views.
  const views: CamView[] = [];
  for (const s of scales) {
    const [h, w] = scaledSize(size, size, s);
    const scaled = resizeBilinearCHW(img.data, 3, size, size, h, w, false);
    views.push(...viewsOfOutput((await plain.run({ image: withFlippedTwin(scaled, 3, h, w) })).raw_cams, s));
  }
  const expected = normaliseByMax(mergeViews(views, size, size, 'max-flip-sum'), NUM_CLASSES, size * size, CAM_NORM_EPS);
  const got = (await merged.run(feed)).cams.data;
  let maxDiff = 0;
  for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected[i]));
  if (!(maxDiff <= 1e-4)) throw new Error(`in-graph merge disagrees with the runtime merge at ${size}×${size}: max |diff| ${maxDiff}`);

  let sessionMs = 0;
  const runtimePath = () =>
    multiScaleCams(
      async (input) => {
        const t0 = performance.now();
        const out = await plain.run({ image: input });
        sessionMs += performance.now() - t0;
        return out;
      },
      img,
      DEFAULT_MULTISCALE,
    );
  const inGraphPath = () => merged.run(feed);

  for (let i = 0; i < 3; i++) {
    await runtimePath();
    await inGraphPath();
  }
  const times = { runtime: [] as number[], inGraph: [] as number[], session: [] as number[] };
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? (['runtime', 'inGraph'] as const) : (['inGraph', 'runtime'] as const);
    for (const k of order) {
      sessionMs = 0;
      const t0 = performance.now();
      await (k === 'runtime' ? runtimePath() : inGraphPath());
      times[k].push(performance.now() - t0);
      if (k === 'runtime') times.session.push(sessionMs);
    }
  }
  const rt = median(times.runtime);
  const ig = median(times.inGraph);
  const ss = median(times.session);
  console.log(
    `${size}×${size}: runtime ${rt.toFixed(2)} ms/image (${(1000 / rt).toFixed(1)} img/s; session.run ${ss.toFixed(2)} ms, JS ${(rt - ss).toFixed(2)} ms)` +
      ` | in-graph ${ig.toFixed(2)} ms/image (${(1000 / ig).toFixed(1)} img/s) | in-graph/runtime time ${(ig / rt).toFixed(3)} | check max|diff| ${maxDiff.toExponential(1)}`,
  );
  results[`${size}`] = {
    runtime_img_s: Number((1000 / rt).toFixed(2)),
    in_graph_img_s: Number((1000 / ig).toFixed(2)),
    runtime_ms: Number(rt.toFixed(3)),
    runtime_session_ms: Number(ss.toFixed(3)),
    runtime_js_ms: Number((rt - ss).toFixed(3)),
    in_graph_ms: Number(ig.toFixed(3)),
    in_graph_over_runtime: Number((ig / rt).toFixed(4)),
    check_max_diff: maxDiff,
  };
  await merged.release();
}
await plain.release();
console.log(`cam-tiny (${NUM_CLASSES} classes), scales ${scales.join(', ')} + flip, onnxruntime-node ${ep} EP (${plain.provider}), ${threads} thread(s), ${runs} alternating runs, medians`);
console.log(JSON.stringify({ bench: 'cam-multiscale', ep: plain.provider, threads, runs, scales, sizes: results }));
