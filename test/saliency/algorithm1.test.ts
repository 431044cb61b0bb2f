// Algorithm 1 of Xu et al. (issue 17, acceptance 4) on constructed maps, one pixel per branch of
// its rule, expected labels worked out by hand; the saliency-alone baseline; the saliency reader.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeGreyPng } from '../../runtime/node/files/palette-png.ts';
import { readSaliencyMap } from '../../runtime/node/files/saliency-map.ts';
import { algorithm1Labels } from '../../runtime/saliency/algorithm1.ts';
import { saliencyOnlyLabels } from '../../runtime/saliency/saliency-labels.ts';

/** [classes, pixels] attention from per-pixel rows [A0, A1, A2]. */
function attention(rows: number[][]): Float32Array {
  const c = rows[0].length;
  const out = new Float32Array(c * rows.length);
  rows.forEach((r, p) => r.forEach((v, k) => (out[k * rows.length + p] = v)));
  return out;
}

test('Algorithm 1 with the paper thresholds (γ1 0.2, γ2 0.06): each branch, absent classes, ties', () => {
  // pixel: [A0, A1, A2], S → expected label (class + 1), image classes {0, 2}
  const cases: [number[], number, number, string][] = [
    [[1.0, 0, 0], 0.05, 0, 'S < γ2: background although M = 0.525 ≥ γ1'],
    [[0.9, 0, 0.1], 0.1, 1, 'M = 0.5 ≥ γ1 and S ≥ γ2: argmax, class 0'],
    [[0.2, 0, 0.1], 0.15, 0, 'S ≥ γ2 but max M = 0.175 < γ1: background'],
    [[0.3, 1.0, 0.5], 0.5, 3, 'class 1 has the largest map but is absent: class 2'],
    [[0.6, 0, 0.6], 0.5, 1, 'tie between classes 0 and 2: the first'],
    [[0.1, 0, 0.7], 0.3, 3, 'class 2 wins: M = 0.5'],
  ];
  const att = attention(cases.map((c) => c[0]));
  const sal = Float32Array.from(cases.map((c) => c[1]));
  const labels = algorithm1Labels(att, 3, sal, [2, 0]);
  cases.forEach(([, , want, why], p) => assert.equal(labels[p], want, `pixel ${p}: ${why}`));
  // No classes in the image: all background; classes unknown: every class competes (class 1 wins pixel 3).
  assert.deepEqual([...algorithm1Labels(att, 3, sal, [])], [0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...algorithm1Labels(att, 3, sal, undefined)], [0, 1, 0, 2, 1, 3]);
});

test('Algorithm 1 at exactly γ1 and exactly γ2 (representable thresholds): foreground, as "< γ" reads', () => {
  const o = { gamma1: 0.25, gamma2: 0.125 };
  // S = γ2 and M = (0.375 + 0.125)/2 = γ1: foreground; S = γ2, M = 0.1875: background;
  // S just under γ2 with a full map: background.
  const att = attention([[0.375], [0.25], [1]]);
  const sal = Float32Array.from([0.125, 0.125, 0.12499]);
  assert.deepEqual([...algorithm1Labels(att, 1, sal, [0], o)], [1, 0, 0]);
  assert.throws(() => algorithm1Labels(att, 1, sal, [3], o), /class 3 is not one of the 1 classes/);
  assert.throws(() => algorithm1Labels(att, 2, sal, [0], o), /3 attention values for 2 classes of 3 pixels/);
});

test('saliency alone: the salient region (S ≥ 0.5) gets the image class, the lowest of several', () => {
  const sal = Float32Array.from([0.5, 0.49, 1, 0]);
  assert.deepEqual([...saliencyOnlyLabels(sal, [4])], [5, 0, 5, 0]);
  assert.deepEqual([...saliencyOnlyLabels(sal, [2, 0])], [1, 0, 1, 0]);
  assert.deepEqual([...saliencyOnlyLabels(sal, [])], [0, 0, 0, 0]);
  assert.deepEqual([...saliencyOnlyLabels(sal, [1], 0.2)], [2, 2, 2, 0]);
});

const dir = mkdtempSync(join(tmpdir(), 'wsss-saliency-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('saliency maps: grey PNG read as 0..255 at the image size; other sizes and bad files named', () => {
  const path = join(dir, 'a.png');
  writeFileSync(path, encodeGreyPng({ width: 2, height: 1, data: Uint8Array.from([0, 255]) }));
  assert.deepEqual([...readSaliencyMap(path, 2, 1)], [0, 255]);
  assert.throws(() => readSaliencyMap(path, 4, 1), /saliency map .*a\.png is 2×1, the image 4×1/);
  assert.throws(() => readSaliencyMap(join(dir, 'none.png'), 2, 1), /saliency map .*none\.png: missing/);
  writeFileSync(join(dir, 'bad.png'), 'not a png');
  assert.throws(() => readSaliencyMap(join(dir, 'bad.png'), 2, 1), /saliency map .*bad\.png: not a PNG/);
});
