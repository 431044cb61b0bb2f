// Augmentation keeps image and label maps aligned: images whose colours encode their labels
// must still encode them after rescale/flip/crop, padding is 255 in labels and the fill colour
// in the image, and the same seed gives the same result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../graphs/rng.ts';
import { augmentSample, cropSample, flipSample, rescaleSample, type AugSample } from '../../train/data/augment.ts';

const W = 23;
const H = 17;

/** Label = blocky pattern; image red channel = 10·label, green = x-ish, blue constant; extras = label + 1. */
function coded(): AugSample {
  const label = Uint8Array.from({ length: W * H }, (_, i) => ((Math.floor((i % W) / 4) + 2 * Math.floor(Math.floor(i / W) / 5)) % 6));
  const image = new Float32Array(W * H * 3);
  for (let i = 0; i < W * H; i++) {
    image[i * 3] = label[i] * 10;
    image[i * 3 + 1] = ((i % W) * 255) / (W - 1);
    image[i * 3 + 2] = 77;
  }
  return { width: W, height: H, image, label, extras: [label.map((v) => v + 1)] };
}

test('flip then crop with padding: labels follow the pixels, padding is 255 / fill / 0', () => {
  for (let seed = 0; seed < 20; seed++) {
    const { sample: s, record } = augmentSample(coded(), new Rng(seed), { flip: true, crop: 30, imageFill: [1, 2, 3] });
    assert.equal(s.width, 30);
    assert.equal(s.height, 30);
    assert.ok(record.cropX <= 0 && record.cropY <= 0, 'crop larger than the image pads it');
    let padded = 0;
    for (let i = 0; i < 30 * 30; i++) {
      const l = s.label![i];
      const px = [...s.image.subarray(i * 3, i * 3 + 3)];
      if (l === 255) {
        padded++;
        assert.deepEqual(px, [1, 2, 3]);
        assert.equal(s.extras![0][i], 0);
      } else {
        assert.equal(px[0], l * 10, `seed ${seed} pixel ${i}`);
        assert.equal(s.extras![0][i], l + 1);
      }
    }
    assert.equal(padded, 30 * 30 - W * H);
    // The green channel tells whether the image was flipped: it grows with x unless flipped.
    const row = Math.max(0, -record.cropY);
    const x0 = Math.max(0, -record.cropX);
    const g0 = s.image[(row * 30 + x0) * 3 + 1];
    const g1 = s.image[(row * 30 + x0 + 1) * 3 + 1];
    assert.equal(g1 > g0, !record.flipped, `seed ${seed}`);
  }
});

test('rescale + crop inside the image: nearest labels stay consistent with the bilinear image inside label regions', () => {
  let checked = 0;
  for (let seed = 0; seed < 10; seed++) {
    const src = coded();
    const { sample: s, record } = augmentSample(src, new Rng(seed), { scale: [1.5, 2.5], crop: { height: 20, width: 26 }, flip: true });
    assert.ok(record.scale >= 1.5 && record.scale < 2.5);
    assert.equal(s.label!.length, 20 * 26);
    assert.ok(!s.label!.includes(255), 'crop inside a larger image needs no padding');
    for (let y = 2; y < 18; y++) {
      for (let x = 2; x < 24; x++) {
        const l = s.label![y * 26 + x];
        // Inside a uniform 5×5 label block (≥ 2 source pixels at these scales) the bilinear red
        // channel equals 10·label exactly: both interpolation taps lie in the same label region.
        let uniform = true;
        for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (s.label![(y + dy) * 26 + x + dx] !== l) uniform = false;
        if (!uniform) continue;
        assert.ok(Math.abs(s.image[(y * 26 + x) * 3] - 10 * l) < 1e-3, `seed ${seed} (${x},${y}): red ${s.image[(y * 26 + x) * 3]} label ${l}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 500, `${checked} pixels checked`);
});

test('colour jitter changes the image only, within 0..255, reproducibly; the input is not modified', () => {
  const src = coded();
  const copy = src.image.slice();
  const opts = { colorJitter: { brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.1 }, flip: true, crop: 16 };
  const a = augmentSample(src, new Rng(5), opts);
  const b = augmentSample(src, new Rng(5), opts);
  assert.deepEqual(a.sample.image, b.sample.image);
  assert.deepEqual(a.sample.label, b.sample.label);
  assert.deepEqual(a.record, b.record);
  assert.deepEqual(src.image, copy);
  assert.ok(a.sample.image.every((v) => v >= 0 && v <= 255));
  assert.deepEqual(a.record.jitter!.order.slice().sort(), ['brightness', 'contrast', 'hue', 'saturation']);
  const plain = augmentSample(src, new Rng(5), { flip: true, crop: 16 });
  // Same geometry draws come first in the stream, so labels match the un-jittered run.
  assert.deepEqual(a.sample.label, plain.sample.label);
  assert.notDeepEqual(a.sample.image, plain.sample.image);
});

test('flip twice is the identity; crop at an offset reads the right window', () => {
  const s = coded();
  const back = flipSample(flipSample(s));
  assert.deepEqual(back.image, s.image);
  assert.deepEqual(back.label, s.label);
  const c = cropSample(s, 5, 3, 4, 2);
  assert.deepEqual([...c.label!], [...s.label!.subarray(3 * W + 5, 3 * W + 9), ...s.label!.subarray(4 * W + 5, 4 * W + 9)]);
  assert.throws(() => augmentSample({ ...s, label: new Uint8Array(3) }, new Rng(1), {}), /a map of 3 values is not 23×17/);
});

test('labels are resampled at pixel centres (PIL NEAREST), not PyTorch nearest', () => {
  // 4 → 10 px: destination centre (x + 0.5)·0.4 falls in source pixel 0,0,1,1,1,2,2,3,3,3
  // (PyTorch 'nearest' would give 0,0,0,1,1,2,2,2,3,3, half a pixel off the image).
  const s: AugSample = { width: 4, height: 1, image: new Float32Array(12), label: Uint8Array.of(0, 1, 2, 3) };
  assert.deepEqual([...rescaleSample(s, 10, 1).label!], [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]);
});
