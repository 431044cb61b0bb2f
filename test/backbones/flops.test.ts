// Cost counting (export/flops.ts) against torchvision's published figures, and `wsss inspect <graph>`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { inspectGraph } from '../../export/inspect-graph.ts';
import { backboneGraph } from '../../graphs/backbones/index.ts';

test('MACs at 224×224 equal torchvision’s GFLOPS table; dilation multiplies the deep stages’ cost', () => {
  // torchvision model docs, "GFLOPS" column (multiply-accumulates): 4.09, 7.80, 15.47, 0.30.
  const expected: [string, number][] = [
    ['resnet50', 4.09],
    ['resnet101', 7.8],
    ['vgg16', 15.47],
    ['mobilenet_v2', 0.3],
  ];
  for (const [name, gmacs] of expected) {
    const s = inspectGraph(backboneGraph(name, { outputs: ['logits'] }), [224, 224]);
    assert.equal(Number((s.macs / 1e9).toFixed(2)), gmacs, name);
    assert.equal(s.flops, 2 * s.macs);
  }
  const os8 = inspectGraph(backboneGraph('resnet50-os8'), [224, 224]);
  const layer4 = os8.stages!.find((st) => st.name === 'layer4')!;
  assert.deepEqual(layer4.shape, [1, 2048, 28, 28]);
  // layer4 runs on 16× the positions at stride 8 (its first 1×1 and the shortcut on 4×).
  assert.ok(layer4.macs > 14 * 0.809e9 && layer4.macs < 16 * 0.809e9, String(layer4.macs));
  assert.equal(os8.parameters, 25_557_032);
});

test('wsss inspect <graph>: parameters, per-stage MACs, JSON tail line', () => {
  const repo = resolve(import.meta.dirname, '..', '..');
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'wsss.js'), 'inspect', 'vgg16d', '--input-size', '321x321'], { encoding: 'utf8', cwd: repo });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /parameters: 20,483,904/);
  assert.match(r.stdout, /conv6\s+\[1, 1024, 41, 41\] stride 8/);
  const tail = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(tail.parameters, 20_483_904);
  assert.deepEqual(tail.input, [1, 3, 321, 321]);
});
