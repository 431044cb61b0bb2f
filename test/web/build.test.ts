// The demo build: complete output, offline (no CDN), freshness detection.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildDemo, demoIsFresh, ensureDemoBuilt, ORT_RUNTIME_FILES } from '../../web-demo/build.ts';

test('buildDemo writes a complete offline demo and ensureDemoBuilt reuses it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsss-build-test-'));
  const dist = join(dir, 'dist');
  try {
    assert.equal(demoIsFresh(dist), false);
    const r = await buildDemo(dist);
    assert.equal(r.rebuilt, true);
    for (const f of ['index.html', 'style.css', 'main.js', ...ORT_RUNTIME_FILES.map((f) => join('ort', f))]) {
      assert.ok(statSync(join(dist, f)).size > 0, `${f} built`);
    }
    const js = readFileSync(join(dist, 'main.js'), 'utf8');
    // Offline: nothing is fetched from another origin (documentation links in messages aside).
    const urls = [...js.matchAll(/https?:\/\/[\w.-]+/g)].map((m) => m[0]);
    assert.deepEqual(urls.filter((u) => !/^https:\/\/(web\.dev|github\.com|aka\.ms|onnxruntime\.ai)$/.test(u)), []);
    assert.doesNotMatch(js, /cdn\.jsdelivr|unpkg\.com/);
    assert.ok(demoIsFresh(dist));
    const again = await ensureDemoBuilt(dist);
    assert.equal(again.rebuilt, false);
    // A missing runtime file makes the build stale; no temporary directories are left behind.
    rmSync(join(dist, 'ort', ORT_RUNTIME_FILES[1]));
    assert.equal(demoIsFresh(dist), false);
    assert.equal((await ensureDemoBuilt(dist)).rebuilt, true);
    assert.ok(existsSync(join(dist, 'ort', ORT_RUNTIME_FILES[1])));
    assert.deepEqual(readdirSync(dir), ['dist']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
