// The golden vectors of ../shared/reference/vectors: every implemented module must pass, every
// other one must be on the pending list; and `npm run golden -- DIR` fails on a vector of a module
// nobody implements (the harness cannot hide a gap).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGoldenDir } from './golden/harness.ts';
import { PENDING_MODULES } from './golden/pending.ts';
import { goldenModules } from './golden/registry.ts';

const dir = new URL('../../shared/reference/vectors', import.meta.url).pathname;
const REPO = join(import.meta.dirname, '..');

test('golden vectors: every implemented module matches the reference code, the rest are pending', { skip: !existsSync(dir) && 'no ../shared' }, async () => {
  const lines: string[] = [];
  const { results, summary } = await runGoldenDir(dir, (l) => lines.push(l));
  console.log(lines.join('\n'));
  console.log(JSON.stringify(summary));
  const failed = results.filter((r) => r.status === 'fail');
  assert.deepEqual(failed.map((r) => `${r.file}: ${r.message}`), []);
  assert.ok(summary.passed >= 8);
  for (const r of results.filter((x) => x.status === 'pending')) assert.ok(r.module in PENDING_MODULES);
  // No module is both implemented and pending.
  assert.deepEqual(Object.keys(goldenModules).filter((m) => m in PENDING_MODULES), []);
});

function golden(d: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'test', 'golden', 'run.ts'), d], { cwd: REPO, encoding: 'utf8' });
  const lines = r.stdout.trim().split('\n');
  return { status: r.status, summary: JSON.parse(lines[lines.length - 1]) as { passed: number; failed: number; pending: string[] }, out: r.stdout };
}

test('npm run golden -- DIR: an unknown module fails the run, a pending one is listed, a known one passes', { skip: !existsSync(dir) && 'no ../shared' }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wsss-golden-'));
  try {
    copyFileSync(join(dir, 'multilabel_soft_margin.json'), join(tmp, 'multilabel_soft_margin.json'));
    // Any pending module's vector (the list shrinks as methods land; with none left, only the pass is checked).
    const pendingFile = Object.keys(PENDING_MODULES).map((m) => `${m}.json`).find((f) => existsSync(join(dir, f)));
    if (pendingFile) copyFileSync(join(dir, pendingFile), join(tmp, pendingFile));
    const ok = golden(tmp);
    assert.equal(ok.status, 0, ok.out);
    const pendingModule = pendingFile?.slice(0, -'.json'.length);
    assert.deepEqual(ok.summary, { passed: 1, failed: 0, pending: pendingModule ? [`${pendingModule} (${PENDING_MODULES[pendingModule]})`] : [] });

    const unknown = { module: 'no_such_module', variant: 'x', params: {}, inputs: {}, outputs: { y: { shape: [1], dtype: 'float32', data: [0] } }, tolerance: { atol: 1e-5, rtol: 1e-4 } };
    writeFileSync(join(tmp, 'no_such_module.json'), JSON.stringify(unknown));
    const bad = golden(tmp);
    assert.equal(bad.status, 1);
    assert.equal(bad.summary.failed, 1);
    assert.match(bad.out, /FAIL +no_such_module\.json .*unknown module 'no_such_module'/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
