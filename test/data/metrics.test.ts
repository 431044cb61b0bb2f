// Metrics on real label maps: confusion counts, the mIoU averaging variants, the CAM sweep
// (checked against a per-threshold brute force), threshold parsing and part-vs-body recall.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../graphs/rng.ts';
import { CamThresholdSweep, parseThresholds } from '../../runtime/metrics/cam-threshold-sweep.ts';
import { ConfusionMatrix } from '../../runtime/metrics/confusion.ts';
import { segmentationScores } from '../../runtime/metrics/miou.ts';
import { PART, PartRecallCounter } from '../../runtime/metrics/part-recall.ts';

test('confusion matrix: rows GT, columns prediction, 255 in GT skipped, 255 in prediction counted as a miss', () => {
  const gt = Uint8Array.of(0, 0, 1, 1, 2, 255, 2, 1);
  const pred = Uint8Array.of(0, 1, 1, 1, 255, 2, 2, 0);
  const c = new ConfusionMatrix(4);
  assert.equal(c.add(gt, pred), 7);
  assert.deepEqual(c.toRows(), [
    [1, 1, 0, 0],
    [1, 2, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 0],
  ]);
  assert.deepEqual([...c.unlabelled], [0, 0, 1, 0]);
  const s = segmentationScores(c);
  // class 2: TP 1, FN 1 (the unlabelled pixel), FP 0 → IoU 1/2; class 3 absent everywhere.
  assert.equal(s.perClass[2].iou, 0.5);
  assert.equal(s.perClass[2].recall, 0.5);
  assert.equal(s.perClass[2].precision, 1);
  assert.equal(s.perClass[3].iou, null);
  const iou0 = 1 / 3; // TP 1, FN 1, FP 1
  const iou1 = 2 / 4; // TP 2, FN 1, FP 1
  assert.ok(Math.abs(s.miou - (iou0 + iou1 + 0.5) / 3) < 1e-12);
  assert.ok(Math.abs(s.miouAllClasses - (iou0 + iou1 + 0.5) / 4) < 1e-12);
  assert.ok(Math.abs(s.pixelAccuracy - 4 / 7) < 1e-12);
  assert.throws(() => c.add(Uint8Array.of(1), Uint8Array.of(1, 2)), /1 pixels, prediction 2/);
});

test('mIoU variants: a prediction-only class counts for miou but not for miou_gt_classes', () => {
  const c = new ConfusionMatrix(3);
  c.add(Uint8Array.of(0, 0, 1, 1), Uint8Array.of(0, 2, 1, 1));
  const s = segmentationScores(c);
  assert.equal(s.perClass[2].iou, 0);
  assert.ok(Math.abs(s.miou - (0.5 + 1 + 0) / 3) < 1e-12);
  assert.ok(Math.abs(s.miouGtClasses - (0.5 + 1) / 2) < 1e-12);
  assert.ok(Math.abs(s.miouAllClasses - s.miou) < 1e-12);
});

test('CAM threshold sweep equals a brute-force argmax over [float32(t), cams] at every threshold', () => {
  const rng = new Rng(7);
  const n = 5;
  const th = parseThresholds('0.05:0.95:0.05');
  const sweep = new CamThresholdSweep(n, th);
  const images: { gt: Uint8Array; maps: Float32Array[]; labels: number[] }[] = [];
  for (let k = 0; k < 6; k++) {
    const len = 97;
    const gt = Uint8Array.from({ length: len }, () => (rng.uniform() < 0.05 ? 255 : rng.int(0, n - 1)));
    const labels = [1, 2, 3, 4].filter(() => rng.uniform() < 0.6);
    // Values on the threshold grid test the tie rule (cam == t → background).
    const maps = labels.map(() => Float32Array.from({ length: len }, () => (rng.uniform() < 0.3 ? th[rng.int(0, th.length - 1)] : rng.uniform())));
    sweep.add(gt, maps, labels);
    images.push({ gt, maps, labels });
  }
  const { sweep: results, best } = sweep.results();
  for (const [ti, t] of sweep.thresholds.entries()) {
    const ref = new ConfusionMatrix(n);
    for (const im of images) {
      const pred = new Uint8Array(im.gt.length);
      for (let i = 0; i < pred.length; i++) {
        let v = Math.fround(t); // the reference code pads the float32 CAMs with t
        let lab = 0;
        for (let k = 0; k < im.maps.length; k++) if (im.maps[k][i] > v) {
          v = im.maps[k][i];
          lab = im.labels[k];
        }
        pred[i] = lab;
      }
      ref.add(im.gt, pred);
    }
    assert.deepEqual([...sweep.confusionAt(ti).counts], [...ref.counts], `threshold ${t}`);
    assert.equal(results[ti].scores.miou, segmentationScores(ref).miou);
  }
  assert.equal(best.scores.miou, Math.max(...results.map((r) => r.scores.miou)));
});

test('parseThresholds: inclusive ranges without float drift, lists, and clear errors', () => {
  const t = parseThresholds('0.05:0.95:0.05');
  assert.equal(t.length, 19);
  assert.equal(t[0], 0.05);
  assert.equal(t[18], 0.95);
  assert.equal(t[5], 0.3);
  assert.deepEqual(parseThresholds('0.1, 0.2,0.4'), [0.1, 0.2, 0.4]);
  assert.throws(() => parseThresholds('0.1:0.9'), /start:stop:step/);
  assert.throws(() => parseThresholds('a,b'), /bad threshold list/);
});

test('part recall: head vs body hits of a score map, label-map hits need the right class', () => {
  const parts = Uint8Array.of(PART.head, PART.head, PART.body, PART.body, PART.body, PART.body, PART.background, PART.distractor, PART.ignore);
  const scores = Float32Array.of(0.9, 0.8, 0.7, 0.1, 0.2, 0.0, 0.6, 0.9, 1.0);
  const c = new PartRecallCounter();
  c.addScoreMap(scores, parts, 0.5);
  const r = c.result();
  assert.deepEqual([r.head.hits, r.head.total, r.body.hits, r.body.total], [2, 2, 1, 4]);
  assert.equal(r.head.recall, 1);
  assert.equal(r.body.recall, 0.25);
  assert.equal(r.falsePositiveRate, 1);
  assert.equal(r.distractorHitRate, 1);
  const l = new PartRecallCounter();
  const gt = Uint8Array.of(3, 3, 3, 3, 3, 3, 0, 0, 255);
  const pred = Uint8Array.of(3, 2, 3, 3, 0, 0, 0, 0, 3);
  l.addLabelMap(pred, gt, parts);
  const lr = l.result();
  assert.equal(lr.head.recall, 0.5);
  assert.equal(lr.body.recall, 0.5);
  assert.equal(lr.falsePositiveRate, 0);
});
