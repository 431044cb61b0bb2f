// The numeric pieces of the precision passes against independent references: binary16 encoding
// (exact round trip of every half value, IEEE rounding at ties), symmetric per-channel weight
// quantization, uint8 activation parameters, and histogram percentiles vs a sorted array.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { float16Bits, float16Value } from '../../export/quantize/float16.ts';
import { MinMaxRange, PercentileRange } from '../../export/quantize/calibration-range.ts';
import { quantizeWeightsPerChannel, uint8Params } from '../../export/quantize/quantize-int8.ts';
import { Rng } from '../../graphs/rng.ts';

test('float16Bits: known values, overflow, subnormals, and every half value round-trips', () => {
  // Reference bit patterns from the IEEE 754 binary16 definition.
  assert.equal(float16Bits(1), 0x3c00);
  assert.equal(float16Bits(-2), 0xc000);
  assert.equal(float16Bits(65504), 0x7bff); // largest finite half
  assert.equal(float16Bits(65520), 0x7c00); // rounds up to Inf
  assert.equal(float16Bits(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(float16Bits(2 ** -26), 0x0000); // below half the smallest subnormal
  assert.equal(float16Bits(0.1), 0x2e66);
  assert.equal(float16Bits(1 + 2 ** -11), 0x3c00); // tie → even mantissa
  assert.equal(float16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(float16Bits(NaN) & 0x7c00, 0x7c00);
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff)) continue; // NaN payloads
    assert.equal(float16Bits(float16Value(h)), h, `half 0x${h.toString(16)}`);
  }
  // Between two halves, the nearer one wins.
  const rng = new Rng(5);
  for (let i = 0; i < 2000; i++) {
    const x = (rng.uniform() - 0.5) * 200;
    const h = float16Bits(x);
    const err = Math.abs(float16Value(h) - x);
    assert.ok(err <= Math.abs(float16Value(h + 1) - x) && err <= Math.abs(float16Value(h - 1) - x), `${x}`);
  }
});

test('quantizeWeightsPerChannel: each channel uses ±127 at its largest weight, error ≤ half a step', () => {
  const rng = new Rng(1);
  const out = 4;
  const w = Float32Array.from({ length: out * 18 }, (_, i) => (rng.uniform() - 0.5) * (1 + Math.floor(i / 18) * 10));
  w.fill(0, 3 * 18); // an all-zero channel
  const { q, scales } = quantizeWeightsPerChannel(w, out);
  for (let o = 0; o < out; o++) {
    const ch = w.subarray(o * 18, (o + 1) * 18);
    const maxAbs = Math.max(...Array.from(ch, Math.abs));
    if (maxAbs === 0) {
      assert.ok(q.subarray(o * 18, (o + 1) * 18).every((v) => v === 0));
      continue;
    }
    assert.ok(Math.abs(scales[o] - maxAbs / 127) < 1e-9 * maxAbs);
    assert.equal(Math.max(...Array.from(q.subarray(o * 18, (o + 1) * 18), Math.abs)), 127);
    for (let i = 0; i < 18; i++) assert.ok(Math.abs(q[o * 18 + i] * scales[o] - ch[i]) <= scales[o] / 2 + 1e-7);
  }
});

test('uint8Params: ReLU ranges get zero point 0, ranges always include 0', () => {
  assert.deepEqual(uint8Params({ min: 0, max: 5.1 }), { scale: 5.1 / 255, zeroPoint: 0 });
  const p = uint8Params({ min: -1, max: 3 });
  assert.ok(Math.abs(p.scale - 4 / 255) < 1e-12);
  assert.equal(p.zeroPoint, 64); // round(1 / (4/255)) = round(63.75)
  assert.deepEqual(uint8Params({ min: 2, max: 4 }), { scale: 4 / 255, zeroPoint: 0 });
  assert.deepEqual(uint8Params({ min: 0, max: 0 }), { scale: 1, zeroPoint: 0 });
});

test('PercentileRange agrees with the percentiles of the sorted values to within one bin', () => {
  const rng = new Rng(2);
  const values = Float32Array.from({ length: 20000 }, () => rng.normal() * 3 + 1);
  values[0] = 80; // an outlier MinMax keeps and the percentile drops
  const mm = new MinMaxRange();
  mm.add(values.subarray(0, 10000));
  mm.add(values.subarray(10000));
  assert.equal(mm.range().max, 80);
  const h = new PercentileRange(mm.min, mm.max, 4096);
  h.add(values);
  const sorted = Float64Array.from(values).sort();
  const bin = (mm.max - mm.min) / 4096;
  for (const p of [99.9, 99, 50, 1, 0.1]) {
    const ref = sorted[Math.ceil((p / 100) * sorted.length) - 1];
    assert.ok(Math.abs(h.percentile(p) - ref) <= bin * 1.01, `p${p}: ${h.percentile(p)} vs ${ref}`);
  }
  const r = h.range(99.9);
  assert.ok(r.max < 15 && r.min > -15, JSON.stringify(r));
});
