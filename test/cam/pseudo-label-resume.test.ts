// Acceptance 5: SIGKILL during `wsss pseudo-label`, then rerun — the output folder ends up
// byte-identical to an uninterrupted run's, and no temp files remain. The run is killed twice at
// different points (each time once some label maps exist and before all do), so a kill can land
// mid-write in either worker phase; both kills and the resume use worker threads, the reference
// run uses none (the two paths must write the same bytes).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TEMP_SUFFIX } from '../../runtime/node/files/atomic-write.ts';
import { fileTree as tree, lastJson, writeCamTinyModel, wsss, wsssAsync } from './cli-fixtures.ts';

const IMAGES = 64;
let dir: string;
let data: string;
let modelPath: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsss-resume-'));
  data = join(dir, 'synth');
  modelPath = join(dir, 'cam-tiny.onnx');
  writeCamTinyModel(modelPath);
  const r = wsss('synth', '--preset', 'tiny', '--train', String(IMAGES), '--val', '1', '--out', data);
  assert.equal(r.status, 0, r.stderr);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const count = (d: string) => (existsSync(d) ? readdirSync(d).filter((n) => n.endsWith('.png')).length : 0);

/** Starts pseudo-labelling into `out`, waits until `atLeast` label maps exist, then SIGKILLs it. Returns the count at the kill. */
async function killMidway(out: string, atLeast: number): Promise<number> {
  const child = wsssAsync('pseudo-label', '--model', modelPath, '--data', data, '--out', out, '--ep', 'cpu', '--workers', '1');
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  const labels = join(out, 'labels');
  for (let i = 0; i < 6000 && count(labels) < atLeast && child.exitCode === null; i++) await sleep(5);
  child.kill('SIGKILL');
  const code = await exited;
  assert.equal(code, null, `the run was killed, not finished (stderr: ${stderr})`);
  return count(labels);
}

test('SIGKILL mid-run, rerun: outputs byte-identical to an uninterrupted run, no temp files left', async (t) => {
  const a = join(dir, 'A');
  const ra = wsss('pseudo-label', '--model', modelPath, '--data', data, '--out', a, '--ep', 'cpu', '--workers', '0');
  assert.equal(ra.status, 0, ra.stderr);
  assert.equal(lastJson(ra.stdout).processed, IMAGES);

  const b = join(dir, 'B');
  const first = await killMidway(b, 5);
  assert.ok(first >= 5 && first < IMAGES, `first kill after ${first} of ${IMAGES} label maps`);
  const second = await killMidway(b, first + 8);
  assert.ok(second > first && second < IMAGES, `second kill after ${second} of ${IMAGES} label maps`);

  // What a kill during a write leaves (it may or may not have happened above): half-written temp files.
  const leftovers = [...tree(b).keys()].filter((k) => k.endsWith(TEMP_SUFFIX));
  t.diagnostic(`kills after ${first} and ${second} label maps left ${leftovers.length} temp file(s)`);
  writeFileSync(join(b, 'labels', `.train_000000.png.999999.abcdef${TEMP_SUFFIX}`), 'half a PNG');
  writeFileSync(join(b, 'cams', `.train_000001.npy.999999.abcdef${TEMP_SUFFIX}`), 'half an npy');
  writeFileSync(join(b, `.summary.json.999999.abcdef${TEMP_SUFFIX}`), '{');

  const rb = wsss('pseudo-label', '--model', modelPath, '--data', data, '--out', b, '--ep', 'cpu', '--workers', '1');
  assert.equal(rb.status, 0, rb.stderr);
  const resumed = lastJson(rb.stdout) as { processed: number; skipped_existing: number };
  assert.equal(resumed.skipped_existing, second, 'complete images are skipped');
  assert.equal(resumed.processed, IMAGES - second);

  const ta = tree(a);
  const tb = tree(b);
  const temps = [...tb.keys()].filter((k) => k.endsWith(TEMP_SUFFIX));
  assert.deepEqual(temps, [], 'no temp files remain');
  assert.deepEqual([...tb.keys()].sort(), [...ta.keys()].sort(), 'same files');
  assert.equal([...ta.keys()].filter((k) => k.startsWith('labels/')).length, IMAGES);
  assert.equal([...ta.keys()].filter((k) => k.startsWith('cams/')).length, IMAGES);
  for (const [name, bytes] of ta) {
    if (name === 'summary.json') continue;
    assert.ok(bytes.equals(tb.get(name)!), `${name} differs`);
  }
  // summary.json: identical except the `run` object (this invocation's counts and timings).
  const strip = (buf: Buffer) => {
    const { run, ...rest } = JSON.parse(buf.toString('utf8')) as { run: unknown };
    assert.ok(run);
    return rest;
  };
  assert.deepEqual(strip(tb.get('summary.json')!), strip(ta.get('summary.json')!));
  assert.equal((strip(ta.get('summary.json')!) as { labelled: number }).labelled, IMAGES);
});
