// EDAM (graphs/methods/edam/): CMA at two feature-map sizes against a direct float64 reading of
// SPEC.md §3.3 (the golden vector pins one size, 4×5); the pair sampler's pairs; Algorithm 1 in
// the paper's reading on a hand-worked map (the code's reading is pinned by edam_postprocess.json);
// the trunk's signed output (SPEC §3.1) as the DA layer's input.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { EdamNet } from '../../graphs/methods/edam/model.ts';
import { makePairBatchSampler } from '../../graphs/methods/edam/pair-sampler.ts';
import { resolveOptions, type OptionValue } from '../../graphs/methods/method.ts';
import { getMethod } from '../../graphs/methods/registry.ts';
import { initialiseAll, type ParamValues } from '../../graphs/module.ts';
import { Rng } from '../../graphs/rng.ts';
import { saliencyLabelMap } from '../../runtime/cam/saliency-fusion.ts';
import { TfjsOps } from '../../train/tfjs-interpreter.ts';
import { opsTensor, tfTensor } from '../../train/tfjs-layout.ts';
import { TfjsParams } from '../../train/tfjs-params.ts';
import { startTfjs } from '../../train/tfjs-start.ts';
import { forwardAll, type Interpreter } from '../golden/graph-forward.ts';
import { cmaGraph } from '../golden/modules/edam_cma.ts';

/** SPEC §3.2–3.3 in plain loops: the scores of one pair [img][slot] for features [2, C, h, w]. */
function referenceScores(p: ParamValues, f: Float64Array, c: number, h: number, w: number, slots: number[], o: { k: number; d: number; heads: number; ff: number; pool: number }): number[][] {
  const get = (n: string) => p.get(n)!.data;
  const at = (i: number, ch: number, y: number, x: number) => f[((i * c + ch) * h + y) * w + x];
  const km = o.k + 1;
  const maskW = get('mask_layer.weight');
  const masks = new Float64Array(2 * km * h * w);
  for (let i = 0; i < 2; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const a = new Float64Array(km);
        for (let m = 0; m < km; m++)
          for (let ch = 0; ch < c; ch++)
            for (let dy = -1; dy <= 1; dy++)
              for (let dx = -1; dx <= 1; dx++)
                if (y + dy >= 0 && y + dy < h && x + dx >= 0 && x + dx < w) a[m] += maskW[((m * c + ch) * 3 + dy + 1) * 3 + dx + 1] * at(i, ch, y + dy, x + dx);
        const norm = Math.max(Math.hypot(...a), 1e-12);
        for (let m = 0; m < km; m++) masks[((i * km + m) * h + y) * w + x] = Math.abs(a[m] / norm);
      }
  const dd = get('cma.d_d.weight');
  const th = Math.ceil(h / o.pool);
  const tw = Math.ceil(w / o.pool);
  const hw = th * tw;
  const seg = get('cma.embedding.segment.weight');
  const linear = (W: ArrayLike<number>, b: ArrayLike<number> | null, x: number[], out: number) =>
    Array.from({ length: out }, (_, r) => x.reduce((s, v, j) => s + W[r * x.length + j] * v, b ? b[r] : 0));
  const layerNorm = (x: number[], a: ArrayLike<number>, b: ArrayLike<number>) => {
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / (x.length - 1));
    return x.map((v, j) => (a[j] * (v - mean)) / (std + 1e-6) + b[j]);
  };
  const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const scores = [Array<number>(slots.length), Array<number>(slots.length)];
  slots.forEach((k, si) => {
    const t = `cma.trans_list.${k}.0.`;
    const seq: number[][] = [];
    for (let i = 0; i < 2; i++)
      for (let ty = 0; ty < th; ty++)
        for (let tx = 0; tx < tw; tx++) {
          const tok = Array<number>(o.d).fill(0);
          let n = 0;
          for (let y = ty * o.pool; y < Math.min(h, (ty + 1) * o.pool); y++)
            for (let x = tx * o.pool; x < Math.min(w, (tx + 1) * o.pool); x++, n++)
              for (let e = 0; e < o.d; e++) {
                let v = 0;
                for (let ch = 0; ch < c; ch++) v += dd[e * c + ch] * at(i, ch, y, x);
                tok[e] += v * masks[((i * km + k) * h + y) * w + x];
              }
          const pos = ty * tw + tx;
          seq.push(tok.map((v, e) => v / n + (e % 2 ? Math.cos : Math.sin)(pos * Math.pow(10000, -(e - (e % 2)) / o.d)) + seg[i * o.d + e]));
        }
    const ln1 = seq.map((x) => layerNorm(x, get(`${t}input_sublayer.norm.a_2`), get(`${t}input_sublayer.norm.b_2`)));
    const [q, kk, v] = [0, 1, 2].map((j) => ln1.map((x) => linear(get(`${t}attention.linear_layers.${j}.weight`), get(`${t}attention.linear_layers.${j}.bias`), x, o.d)));
    const dk = o.d / o.heads;
    const att = seq.map((_, a) => {
      const outRow = Array<number>(o.d).fill(0);
      for (let hd = 0; hd < o.heads; hd++) {
        const s = seq.map((__, b) => q[a].slice(hd * dk, (hd + 1) * dk).reduce((acc, x, j) => acc + x * kk[b][hd * dk + j], 0) / Math.sqrt(dk));
        const mx = Math.max(...s);
        const e = s.map((x) => Math.exp(x - mx));
        const z = e.reduce((acc, x) => acc + x, 0);
        for (let j = 0; j < dk; j++) outRow[hd * dk + j] = e.reduce((acc, x, b) => acc + (x / z) * v[b][hd * dk + j], 0);
      }
      return linear(get(`${t}attention.output_linear.weight`), get(`${t}attention.output_linear.bias`), outRow, o.d);
    });
    const x1 = seq.map((x, a) => x.map((val, e) => val + att[a][e]));
    const x2 = x1.map((x) => {
      const hdn = linear(get(`${t}feed_forward.w_1.weight`), get(`${t}feed_forward.w_1.bias`), layerNorm(x, get(`${t}output_sublayer.norm.a_2`), get(`${t}output_sublayer.norm.b_2`)), o.ff).map(gelu);
      const y = linear(get(`${t}feed_forward.w_2.weight`), get(`${t}feed_forward.w_2.bias`), hdn, o.d);
      return x.map((val, e) => val + y[e]);
    });
    const fc = get(`cma.fc_list.${k}.weight`);
    for (let i = 0; i < 2; i++) {
      const pooled = Array<number>(o.d).fill(0);
      for (let tok = 0; tok < hw; tok++) for (let e = 0; e < o.d; e++) pooled[e] += x2[i * hw + tok][e] / hw;
      scores[i][si] = pooled.reduce((acc, val, e) => acc + val * fc[e], 0);
    }
  });
  return scores;
}

for (const [h, w, pool, via] of [
  [3, 4, 1, 'onnx'],
  [5, 3, 2, 'tfjs'],
] as [number, number, number, Interpreter][]) {
  test(`CMA on a ${h}×${w} feature map (token pooling ${pool}, ${via}) matches SPEC §3.3 computed directly`, async () => {
    const o = { k: 4, d: 6, heads: 2, ff: 10, pool };
    const c = 5;
    const slots = [3, 0, 2];
    const g = cmaGraph({ inChannels: c, numClasses: o.k, dim: o.d, heads: o.heads, ffHidden: o.ff, slots, h, w, pool });
    const values = initialiseAll(g.module, 7);
    const rng = new Rng(11);
    const feats = Float32Array.from({ length: 2 * c * h * w }, () => rng.range(-1, 1));
    const [out] = await forwardAll(g.graph, values, [{ features: { dims: [2, c, h, w], data: feats }, targets: { dims: [1, 6, 1, 1], data: new Float32Array(6) } }], via);
    const ref = referenceScores(values, Float64Array.from(feats), c, h, w, slots, o);
    assert.equal(g.entries.length, 6);
    g.entries.forEach((e, col) => {
      const want = ref[e.image][slots.indexOf(e.cls)];
      assert.ok(Math.abs(out.scores.data[col] - want) <= 1e-4 * (1 + Math.abs(want)), `image ${e.image} class ${e.cls}: ${out.scores.data[col]} vs ${want}`);
    });
  });
}

test('pair sampler: every pair shares a class, the batch is reproducible from (seed, step), anchors follow the epoch shuffle', () => {
  const rng = new Rng(3);
  // 40 images over 5 classes, 1–2 labels each; image 39 alone has class 4 (gets a random partner).
  const labels = Array.from({ length: 40 }, (_, i) => {
    const l = new Float32Array(5);
    if (i === 39) l[4] = 1;
    else {
      l[Math.floor(rng.uniform() * 4)] = 1;
      if (rng.uniform() < 0.4) l[Math.floor(rng.uniform() * 4)] = 1;
    }
    return l;
  });
  const sample = makePairBatchSampler();
  const anchors = new Set<number>();
  for (let step = 0; step < 5; step++) {
    const b = sample({ labels, batch: 8, step, seed: 1 });
    assert.deepEqual(b, makePairBatchSampler()({ labels, batch: 8, step, seed: 1 }), 'the same pairs from (seed, step)');
    assert.equal(b.length, 8);
    for (let p = 0; p < 4; p++) {
      const [a, q] = [b[2 * p], b[2 * p + 1]];
      anchors.add(a);
      assert.notEqual(a, q);
      if (a !== 39) assert.ok([0, 1, 2, 3].some((c) => labels[a][c] && labels[q][c]), `pair ${a}, ${q} shares no class`);
    }
  }
  assert.equal(anchors.size, 20, 'five steps of four anchors: half an epoch, each image once');
  assert.notDeepEqual(sample({ labels, batch: 8, step: 0, seed: 2 }), sample({ labels, batch: 8, step: 0, seed: 1 }));
  assert.throws(() => sample({ labels, batch: 7, step: 0, seed: 1 }), /batch must be even/);
});

test("Algorithm 1, the paper's reading: θ on saliency (S ≥ θ salient), α drops weak salient pixels, β keeps strong non-salient ones", () => {
  // Two kept classes (1 and 4) at 6 pixels; saliency around θ = 20.
  const keys = [4, 1];
  const cams = Float32Array.from([
    // class 4
    0.9, 0.1, 0.97, 0.5, 0.2, 0.99,
    // class 1
    0.3, 0.2, 0.1, 0.6, 0.1, 0.96,
  ]);
  const sal = [20, 200, 19, 0, 255, 10];
  const f = { rule: 'paper' as const, theta: 20, alpha: 0.25, beta: 0.95 };
  // p0 salient, best class 4 (0.9 ≥ α) → 5; p1 salient, best 0.2 < α → 0; p2 not salient, 0.97 > β → 5;
  // p3 not salient, best 0.6 ≤ β → 0; p4 salient, best 0.2 < α → 0; p5 not salient, class 4 0.99 > β → 5.
  assert.deepEqual([...saliencyLabelMap(cams, keys, 6, sal, f)], [5, 0, 5, 0, 0, 5]);
  // The code's reading differs at S = θ (background there: S ≤ θ) and, where both classes exceed β
  // (both clamped to 2), takes the lowest class.
  assert.deepEqual([...saliencyLabelMap(cams, keys, 6, sal, { ...f, rule: 'code' })], [0, 0, 5, 0, 0, 2]);
  assert.throws(() => saliencyLabelMap(cams, keys, 6, [1, 2, 3], f), /saliency map has 3 pixels, the CAMs 6/);
});

test("the DA layer reads the trunk's signed features (SPEC §3.1: bn7 without its ReLU) by default, post-ReLU ones with --trunk-relu", async () => {
  await startTfjs();
  const edam = getMethod('edam');
  const rng = new Rng(4);
  const image = opsTensor(tf.tensor4d(Float32Array.from({ length: 2 * 32 * 32 * 3 }, () => 255 * rng.uniform()), [2, 32, 32, 3]));
  const smallestFeature = (backbone: string, options: Record<string, OptionValue>) => {
    const { module } = edam.build({ backbone, classNames: ['a', 'b'], options: resolveOptions(edam, options) });
    const params = new TfjsParams(initialiseAll(module, 1), module);
    const net = module as EdamNet;
    const min = tf.tidy(() => tf.min(tfTensor(net.features(new TfjsOps(params, { training: false }), image))).dataSync()[0]);
    params.dispose();
    return min;
  };
  for (const backbone of ['cam-tiny-w16', 'resnet38d-w16']) {
    assert.ok(smallestFeature(backbone, {}) < 0, `${backbone}: some default feature is negative`);
    assert.ok(smallestFeature(backbone, { 'trunk-relu': true }) >= 0, `${backbone} --trunk-relu: no feature is negative`);
  }
  // A backbone that ends in a residual ReLU keeps it.
  assert.ok(smallestFeature('resnet50-w16', {}) >= 0);
});
