// The web demo's precision rule (issue 20), case by case.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choosePrecision } from '../../runtime/web/choose-precision.ts';

test('choosePrecision: fp16 on WebGPU with shader-f16, fp32 on WebGPU without, int8 on wasm when served', () => {
  const all = ['fp32', 'fp16', 'int8'] as const;
  const pick = (served: readonly ('fp32' | 'fp16' | 'int8')[], webgpu: boolean, shaderF16: boolean) => {
    const c = choosePrecision(served, { webgpu, shaderF16 });
    return `${c.precision}@${c.providers[0]}`;
  };
  assert.equal(pick(all, true, true), 'fp16@webgpu');
  assert.equal(pick(all, true, false), 'fp32@webgpu');
  assert.equal(pick(all, false, false), 'int8@wasm');
  assert.equal(pick(['fp32', 'fp16'], false, false), 'fp32@wasm');
  assert.equal(pick(['fp32', 'int8'], true, true), 'fp32@webgpu');
  assert.equal(pick(['fp32'], true, true), 'fp32@webgpu');
  assert.equal(pick(['int8'], true, true), 'int8@wasm');
  assert.equal(pick(['fp16'], false, false), 'fp16@wasm');
  assert.match(choosePrecision(all, { webgpu: true, shaderF16: true }).reason, /shader-f16/);
  assert.throws(() => choosePrecision([], { webgpu: false, shaderF16: false }), /no model served/);
});
