// Issue 6, acceptance 2: the CAMs of an exported model in onnxruntime-node equal the tfjs CAMs of
// the same checkpoint within 1e-4 on the max-normalised scale.
//
// cam-tiny with "trained-looking" parameters (seeded init plus non-trivial batch-norm statistics
// and affine terms, several seeds), exported by our exporter and opened through the runtime's
// session layer (the production path), against the tfjs interpreter on the same structured
// images at two sizes (one odd). Checked: `cams` (normalised in the graph), `raw_cams` (error
// relative to their max) and `scores`; then the runtime's multi-scale + flip path
// (multiScaleCams) driven once by the ONNX model and once by the tfjs forward.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { exportOnnx } from '../../export/export-onnx.ts';
import { tfjsForward } from '../../export/verify.ts';
import type { GraphDef } from '../../graphs/graph.ts';
import { initialiseAll, type ParamValues } from '../../graphs/module.ts';
import { defaultClassNames, getGraph } from '../../graphs/registry.ts';
import { Rng } from '../../graphs/rng.ts';
import { DEFAULT_MULTISCALE, multiScaleCams, type PlanarImage } from '../../runtime/cam/multiscale-cams.ts';
import { openModel, type OpenModel, type OrtModule } from '../../runtime/session.ts';

const TOL = 1e-4;
const SEEDS = [3, 17, 40];
const SIZES: [number, number][] = [
  [48, 64],
  [67, 53],
];

/** Seeded init, then batch-norm statistics and affine terms away from identity, as after training. */
function trainedLooking(graph: GraphDef, seed: number): ParamValues {
  const values = initialiseAll(graph.module, seed);
  const rng = new Rng(seed + 1000);
  for (const [name, v] of values) {
    const d = v.data;
    if (name.endsWith('running_mean')) for (let i = 0; i < d.length; i++) d[i] = 0.3 * rng.normal();
    else if (name.endsWith('running_var')) for (let i = 0; i < d.length; i++) d[i] = 0.3 + 2 * rng.uniform();
    else if (name.endsWith('bn.weight')) for (let i = 0; i < d.length; i++) d[i] = 0.5 + rng.uniform();
    else if (name.endsWith('bn.bias')) for (let i = 0; i < d.length; i++) d[i] = 0.2 * rng.normal();
  }
  return values;
}

/** Planar RGB in [0, 255] with structure: smooth gradients, a few bright and dark discs, noise. */
function structuredImage(seed: number, h: number, w: number): PlanarImage {
  const rng = new Rng(seed);
  const discs = Array.from({ length: 4 }, () => ({ y: rng.uniform() * h, x: rng.uniform() * w, r: 4 + rng.uniform() * Math.min(h, w) * 0.3, rgb: [0, 1, 2].map(() => 255 * rng.uniform()) }));
  const data = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let v = 60 + (120 * (c === 0 ? y / h : c === 1 ? x / w : (x + y) / (h + w))) + 10 * rng.normal();
        for (const d of discs) if ((y - d.y) ** 2 + (x - d.x) ** 2 < d.r ** 2) v = d.rgb[c] + 5 * rng.normal();
        data[(c * h + y) * w + x] = Math.min(255, Math.max(0, v));
      }
  return { data, height: h, width: w };
}

function batchOf(imgs: PlanarImage[]): { data: Float32Array; dims: number[] } {
  const { height: h, width: w } = imgs[0];
  const data = new Float32Array(imgs.length * 3 * h * w);
  imgs.forEach((im, i) => data.set(im.data, i * 3 * h * w));
  return { data, dims: [imgs.length, 3, h, w] };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** Per class map of [N, C, H, W]: peaks at 1 and not flat (some pixels below half, some above). */
function nonTrivialMaps(cams: Float32Array, dims: number[]): number {
  const [n, c, h, w] = dims;
  let count = 0;
  for (let m = 0; m < n * c; m++) {
    const map = cams.subarray(m * h * w, (m + 1) * h * w);
    const high = map.filter((v) => v > 0.5).length;
    if (maxAbs(map) > 0.99 && high > 0 && high < 0.9 * h * w) count++;
  }
  return count;
}

const graph = getGraph('cam-tiny', { classNames: defaultClassNames(6) });

async function open(values: ParamValues): Promise<OpenModel> {
  return openModel(ort as unknown as OrtModule, exportOnnx(graph, values), { providers: ['cpu'], source: 'cam-tiny (parity test)' });
}

for (const seed of SEEDS) {
  test(`cam-tiny seed ${seed}: onnxruntime-node CAMs equal tfjs CAMs within ${TOL} at ${SIZES.map((s) => s.join('×')).join(' and ')}`, async () => {
    const values = trainedLooking(graph, seed);
    const model = await open(values);
    try {
      for (const [h, w] of SIZES) {
        const feed = { image: batchOf([structuredImage(seed * 7 + 1, h, w), structuredImage(seed * 7 + 2, h, w)]) };
        const onnx = await model.run(feed);
        const tf = await tfjsForward(graph, values, feed);
        const at = `${h}×${w}`;
        assert.deepEqual(onnx.cams.dims, [2, 6, h, w], `cams shape @${at}`);
        assert.deepEqual(onnx.cams.dims, tf.cams.dims);
        assert.deepEqual(onnx.raw_cams.dims, tf.raw_cams.dims);
        // The comparison means something only if the maps are maps: most class maps non-flat.
        assert.ok(nonTrivialMaps(tf.cams.data, tf.cams.dims) >= 6, `seed ${seed} @${at}: too few non-trivial CAMs`);
        const camErr = maxAbsDiff(onnx.cams.data, tf.cams.data);
        assert.ok(camErr <= TOL, `cams @${at}: max |onnx − tfjs| = ${camErr.toExponential(2)}`);
        const rawScale = maxAbs(tf.raw_cams.data);
        assert.ok(rawScale > 0, 'raw CAMs are not all zero');
        const rawErr = maxAbsDiff(onnx.raw_cams.data, tf.raw_cams.data) / rawScale;
        assert.ok(rawErr <= TOL, `raw_cams @${at}: max |onnx − tfjs| / max = ${rawErr.toExponential(2)}`);
        const scoreErr = maxAbsDiff(onnx.scores.data, tf.scores.data) / Math.max(1, maxAbs(tf.scores.data));
        assert.ok(scoreErr <= TOL, `scores @${at}: relative error ${scoreErr.toExponential(2)}`);
      }
    } finally {
      await model.release();
    }
  });
}

test('runtime multi-scale + flip CAMs (multiScaleCams): the ONNX model and the tfjs forward agree within 1e-4', async () => {
  const values = trainedLooking(graph, SEEDS[0]);
  const model = await open(values);
  try {
    const img = structuredImage(99, 45, 58);
    const viaOnnx = await multiScaleCams((input) => model.run({ image: input }), img, DEFAULT_MULTISCALE);
    const viaTfjs = await multiScaleCams((input) => tfjsForward(graph, values, { image: input }), img, DEFAULT_MULTISCALE);
    assert.equal(viaOnnx.cams.length, 6 * 45 * 58);
    assert.ok(nonTrivialMaps(viaTfjs.cams, [1, 6, 45, 58]) >= 3, 'too few non-trivial merged CAMs');
    const camErr = maxAbsDiff(viaOnnx.cams, viaTfjs.cams);
    assert.ok(camErr <= TOL, `merged cams: max |onnx − tfjs| = ${camErr.toExponential(2)}`);
    assert.ok(maxAbsDiff(viaOnnx.probabilities, viaTfjs.probabilities) <= TOL, 'image-level probabilities');
  } finally {
    await model.release();
  }
});
