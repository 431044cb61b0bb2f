// The shared runtime core on onnxruntime-node: metadata contract, metadata_props reader, EP
// fallback and reporting, pre/post-processing and the segment pipeline on a real model.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ortNode from 'onnxruntime-node';
import p from 'onnx-proto';
import { MODEL_METADATA_KEYS, ModelMetadataError, metadataProps, parseModelMetadata, REQUIRED_METADATA_KEYS } from '../../runtime/model-metadata.ts';
import { OnnxFormatError, readOnnxMetadataProps } from '../../runtime/onnx-metadata-props.ts';
import { chooseLabelRule, composeOverlay, labelsFromMaps, camHeatmap } from '../../runtime/postprocess.ts';
import { pixelsToPlanarRgb, preprocessImage } from '../../runtime/preprocess.ts';
import { resizeBilinearCHW } from '../../runtime/resize.ts';
import { fitWithin, resizePlanesAntialiased } from '../../runtime/resize-antialiased.ts';
import { segmentPixels } from '../../runtime/segment.ts';
import { NoProviderError, openModel, type OrtModule } from '../../runtime/session.ts';
import { vocPalette } from '../../runtime/voc-palette.ts';
import { FIXTURE_CLASSES, FIXTURE_INFO, fixtureModelBytes, syntheticImage } from './fixture-model.ts';

const ort = ortNode as unknown as OrtModule;

test('metadata round-trips through metadataProps and parseModelMetadata', () => {
  const props = metadataProps(FIXTURE_INFO);
  assert.equal(props[MODEL_METADATA_KEYS.classNames], JSON.stringify(FIXTURE_CLASSES));
  const info = parseModelMetadata(props, 'm.onnx');
  assert.deepEqual(info.classNames, FIXTURE_CLASSES);
  assert.deepEqual(info.normalisation, FIXTURE_INFO.normalisation);
  assert.equal(info.outputStride, 2);
  assert.equal(info.formatVersion, 1);
  // Without normalisation, mean/std are absent and parse back to null.
  const bare = metadataProps({ ...FIXTURE_INFO, normalisation: null });
  assert.equal(bare[MODEL_METADATA_KEYS.mean], undefined);
  assert.equal(parseModelMetadata(bare).normalisation, null);
});

test('parseModelMetadata names the model and every missing key', () => {
  assert.throws(
    () => parseModelMetadata({ method: 'cam' }, 'x.onnx'),
    (e: Error) => e instanceof ModelMetadataError && e.message.startsWith('model x.onnx has no wsss metadata: missing ') && REQUIRED_METADATA_KEYS.filter((k) => k !== 'method').every((k) => e.message.includes(k)),
  );
  const props = metadataProps(FIXTURE_INFO);
  assert.throws(() => parseModelMetadata({ ...props, class_names: '["a",' }, 'y.onnx'), /model y\.onnx: metadata 'class_names' is not valid JSON/);
  assert.throws(() => parseModelMetadata({ ...props, output_stride: '0' }, 'y.onnx'), /'output_stride' must be an integer/);
  assert.throws(() => parseModelMetadata({ ...props, format_version: '99' }, 'y.onnx'), /newer than this runtime/);
  const { std: _std, ...noStd } = props;
  assert.throws(() => parseModelMetadata(noStd, 'y.onnx'), /has 'mean' without 'std'/);
});

test('readOnnxMetadataProps agrees with a full protobuf decode, and rejects non-models', () => {
  const bytes = fixtureModelBytes({ metadataOverrides: { extra: 'ünïcode ✓' } });
  const decoded = p.onnx.ModelProto.decode(bytes);
  const expected = Object.fromEntries(decoded.metadataProps.map((e) => [e.key, e.value]));
  assert.deepEqual(readOnnxMetadataProps(bytes), expected);
  assert.equal(readOnnxMetadataProps(bytes).extra, 'ünïcode ✓');
  assert.throws(() => readOnnxMetadataProps(new Uint8Array(0), 'e.onnx'), /e\.onnx is not a valid ONNX model: the file is empty/);
  assert.throws(() => readOnnxMetadataProps(new TextEncoder().encode('<html>not a model</html>'), 'h.onnx'), OnnxFormatError);
  assert.throws(() => readOnnxMetadataProps(bytes.subarray(0, bytes.length - 3), 't.onnx'), /t\.onnx is not a valid ONNX model/);
});

test('openModel refuses a model without wsss metadata before creating a session', async () => {
  await assert.rejects(openModel(ort, fixtureModelBytes({ withoutMetadata: true }), { providers: ['cpu'], source: 'bare.onnx' }), /model bare\.onnx has no wsss metadata: missing method, graph, class_names/);
});

test('openModel falls back through providers and reports the one that ran', async () => {
  const m = await openModel(ort, fixtureModelBytes(), { providers: ['no-such-ep', 'cpu'], source: 'f.onnx', threads: 1 });
  try {
    assert.equal(m.provider, 'cpu');
    assert.equal(m.failedProviders.length, 1);
    assert.equal(m.failedProviders[0].provider, 'no-such-ep');
    assert.ok(m.failedProviders[0].error.length > 0);
    assert.deepEqual([...m.inputNames], ['image']);
  } finally {
    await m.release();
  }
  await assert.rejects(openModel(ort, fixtureModelBytes(), { providers: ['no-such-ep'], source: 'f.onnx' }), (e: Error) => e instanceof NoProviderError && /could not open f\.onnx with any execution provider: no-such-ep: /.test(e.message));
});

test('openModel checks that declared outputs exist in the graph', async () => {
  const outputs = JSON.stringify([{ name: 'masks', meaning: 'x' }]);
  await assert.rejects(openModel(ort, fixtureModelBytes({ metadataOverrides: { outputs } }), { providers: ['cpu'], source: 'o.onnx' }), /metadata lists outputs masks that the graph does not have/);
});

test('preprocess lays out RGB(A) pixels as planar [0,255] floats and shrinks consistently', () => {
  const rgba = Uint8Array.of(1, 2, 3, 255, 4, 5, 6, 0);
  assert.deepEqual([...pixelsToPlanarRgb({ data: rgba, width: 2, height: 1, channels: 4 })], [1, 4, 2, 5, 3, 6]);
  assert.throws(() => pixelsToPlanarRgb({ data: rgba, width: 3, height: 1, channels: 4 }), /expected 3×1×4/);
  assert.deepEqual(fitWithin(1000, 500, 512), { width: 512, height: 256 });
  assert.deepEqual(fitWithin(300, 200, 512), { width: 300, height: 200 });
  const { tensor, processedPixels } = preprocessImage({ data: syntheticImage(600, 400), width: 600, height: 400, channels: 3 }, { maxSide: 300 });
  assert.deepEqual(tensor.dims, [1, 3, 200, 300]);
  assert.equal(processedPixels.data.length, 4 * 300 * 200);
  // The model input is exactly the 8-bit pixels shown under the overlay.
  assert.deepEqual(pixelsToPlanarRgb(processedPixels), tensor.data);
  // Shrinking a constant image keeps it constant (weights are normalised everywhere).
  const flat = resizePlanesAntialiased(new Float32Array(3 * 37 * 53).fill(77), 3, 37, 53, 10, 14);
  assert.ok(flat.every((v) => Math.abs(v - 77) < 1e-3));
});

test('antialiased resize equals half-pixel bilinear when enlarging', () => {
  const src = Float32Array.from({ length: 2 * 5 * 7 }, (_, i) => Math.sin(i * 1.7) * 10);
  const a = resizePlanesAntialiased(src, 2, 5, 7, 13, 16);
  const b = resizeBilinearCHW(src, 2, 5, 7, 13, 16, false);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `index ${i}: ${a[i]} vs ${b[i]}`);
});

test('labelsFromMaps: CAM threshold rule, argmax rule, ties to the lowest label, upsampling', () => {
  // Two classes over 4 pixels.
  const cams = Float32Array.of(0.9, 0.1, 0.5, 0.3, /* class 2 */ 0.2, 0.05, 0.5, 0.6);
  const l = labelsFromMaps(cams, 2, 1, 4, 'cam-threshold', { bgThreshold: 0.15 });
  assert.deepEqual([...l.data], [1, 0, 1, 2]); // 0.5 = 0.5 tie → lower label
  assert.deepEqual([...labelsFromMaps(cams, 2, 1, 4, 'cam-threshold', { bgThreshold: 0.55 }).data], [1, 0, 0, 2]);
  // A pixel exactly at the threshold stays background (ties → background first).
  assert.deepEqual([...labelsFromMaps(Float32Array.of(0.25), 1, 1, 1, 'cam-threshold', { bgThreshold: 0.25 }).data], [0]);
  const logits = Float32Array.of(/* bg */ 1, 0, 2, /* c1 */ 0, 3, 2);
  assert.deepEqual([...labelsFromMaps(logits, 2, 1, 3, 'argmax').data], [0, 1, 0]);
  const up = labelsFromMaps(Float32Array.of(0, 1, /* c */ 1, 0), 2, 1, 2, 'argmax', { outWidth: 8, outHeight: 2 });
  assert.equal(up.width, 8);
  assert.deepEqual([...up.data.subarray(0, 8)], [1, 1, 1, 1, 0, 0, 0, 0]); // background rises left to right
  assert.deepEqual(chooseLabelRule({ graph: 'g', outputs: [{ name: 'cams', meaning: '' }, { name: 'masks', meaning: '' }] }), { kind: 'argmax', output: 'masks' });
  assert.deepEqual(chooseLabelRule({ graph: 'g', outputs: [{ name: 'scores', meaning: '' }, { name: 'cams', meaning: '' }] }), { kind: 'cam-threshold', output: 'cams' });
  assert.throws(() => chooseLabelRule({ graph: 'g', outputs: [{ name: 'scores', meaning: '' }] }), /model g has no output that gives labels/);
});

test('overlay and heat map blend colours only where asked', () => {
  const base = new Uint8ClampedArray([10, 20, 30, 255, 10, 20, 30, 255, 10, 20, 30, 255]);
  const labels = { data: Uint8Array.of(0, 1, 2), width: 3, height: 1 };
  const pal = vocPalette(3);
  const out = composeOverlay(base, labels, pal, 1, [true, true, false]);
  assert.deepEqual([...out.subarray(0, 4)], [10, 20, 30, 255]); // background untouched
  assert.deepEqual([...out.subarray(4, 7)], [...pal.subarray(3, 6)]); // class 1 fully coloured
  assert.deepEqual([...out.subarray(8, 12)], [10, 20, 30, 255]); // class 2 hidden
  const half = composeOverlay(base, labels, pal, 0.5);
  assert.equal(half[4], Math.round((10 + pal[3]) / 2));
  const heat = camHeatmap(base, 3, 1, Float32Array.of(0, 1), 1, 2, 1);
  assert.ok(heat[2] > heat[0], 'low CAM is blue'); // x=0 samples cam 0 → blue
  assert.ok(heat[8] > heat[10], 'high CAM is red'); // x=2 samples cam 1 → red
});

test('segmentPixels finds the coloured shapes of the synthetic image', async () => {
  const m = await openModel(ort, fixtureModelBytes(), { providers: ['cpu'], source: 'f.onnx' });
  try {
    const W = 120;
    const H = 90;
    const img = syntheticImage(W, H, 3);
    const seg = await segmentPixels(m, { data: img, width: W, height: H, channels: 3 });
    assert.equal(seg.rule.kind, 'cam-threshold');
    assert.equal(seg.labels.width, W);
    assert.ok(seg.cams && seg.cams.height === H / 2, 'CAMs come at stride 2 and are upsampled by the runtime');
    assert.equal(seg.scores?.length, 3);
    // Ground truth from the drawing: the dominant colour channel of non-grey pixels.
    let agree = 0;
    for (let i = 0; i < W * H; i++) {
      const [r, g, b] = [img[3 * i], img[3 * i + 1], img[3 * i + 2]];
      const spread = Math.max(r, g, b) - Math.min(r, g, b);
      const truth = spread < 60 ? 0 : r > g && r > b ? 1 : g > b ? 2 : 3;
      if (seg.labels.data[i] === truth) agree++;
    }
    assert.ok(agree / (W * H) > 0.9, `labels match the drawn shapes on ${((100 * agree) / (W * H)).toFixed(1)} % of pixels`);
    // Raising the background threshold only turns pixels into background.
    const c = seg.cams!;
    const strict = labelsFromMaps(c.data, c.classes, c.height, c.width, 'cam-threshold', { bgThreshold: 0.6, outWidth: W, outHeight: H });
    let moved = 0;
    for (let i = 0; i < W * H; i++) {
      if (strict.data[i] !== seg.labels.data[i]) {
        assert.equal(strict.data[i], 0);
        moved++;
      }
    }
    assert.ok(moved > 0);
  } finally {
    await m.release();
  }
});
