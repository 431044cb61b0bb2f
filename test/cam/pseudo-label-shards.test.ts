// Issue 21, acceptance 4 at test scale: the shards of a pseudo-labelling job — given by --shard,
// Kubernetes' JOB_COMPLETION_INDEX, a Slurm array and AWS Batch, two of them at the same time
// into the same folder, one SIGKILLed and rerun — produce together the byte-identical output
// tree of an unsharded run, and --merge-summaries first names the missing shard, then reports
// all complete with the unsharded run's summary.json (apart from its `run` timings). The
// 1,000-image run is in README (measured by hand).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runPseudoLabel } from '../../cli/pseudo-label-run.ts';
import { mergeShardSummaries, parseShardFlag, resolveShard, shardPositions, type Shard } from '../../runtime/node/pseudo-label/shards.ts';
import { fileTree as tree, lastJson, REPO, WSSS, writeCamTinyModel, wsss } from './cli-fixtures.ts';

const IMAGES = 24;
let dir: string;
let data: string;
let model: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsss-shards-'));
  data = join(dir, 'synth');
  model = join(dir, 'cam-tiny.onnx');
  writeCamTinyModel(model);
  const r = wsss('synth', '--preset', 'tiny', '--train', String(IMAGES), '--val', '1', '--out', data);
  assert.equal(r.status, 0, r.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const SCHEDULER_VARS = ['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_STEP', 'SLURM_ARRAY_TASK_COUNT', 'AWS_BATCH_JOB_ARRAY_INDEX'];

function envWith(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  for (const v of SCHEDULER_VARS) delete env[v];
  return { ...env, ...vars };
}

function label(out: string, args: string[], vars: Record<string, string> = {}) {
  return spawn(process.execPath, [WSSS, 'pseudo-label', '--model', model, '--data', data, '--out', out, '--ep', 'cpu', '--workers', '1', ...args], { cwd: REPO, env: envWith(vars), stdio: ['ignore', 'pipe', 'pipe'] });
}

async function finished(child: ReturnType<typeof label>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

test('shard index and count: --shard, Kubernetes, Slurm, AWS Batch; bad values are refused with the variable named', () => {
  assert.deepEqual(parseShardFlag('2/4'), { index: 2, count: 4, from: '--shard' });
  assert.throws(() => parseShardFlag('0/4'), /--shard '0\/4': the index must be in 1…4/);
  assert.throws(() => parseShardFlag('5/4'), /--shard '5\/4'/);
  assert.throws(() => parseShardFlag('2-4'), /expected i\/n/);
  assert.equal(resolveShard({ env: {} }), null);
  assert.equal(resolveShard({ shard: '3/4', env: { JOB_COMPLETION_INDEX: '0' } })!.index, 3, '--shard wins over the environment');
  assert.deepEqual(resolveShard({ numShards: 4, env: { JOB_COMPLETION_INDEX: '3' } }), { index: 4, count: 4, from: 'JOB_COMPLETION_INDEX=3, --num-shards 4' });
  assert.throws(() => resolveShard({ env: { JOB_COMPLETION_INDEX: '1' } }), /JOB_COMPLETION_INDEX is set \(1\) but the shard count is not: give --num-shards/);
  assert.throws(() => resolveShard({ numShards: 4, env: { JOB_COMPLETION_INDEX: '4' } }), /JOB_COMPLETION_INDEX=4 is not below the shard count 4/);
  // Slurm arrays start anywhere and may step: --array=1-4 and --array=0-12:4 both give shards 1…4.
  assert.equal(resolveShard({ env: { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' } })!.index, 1);
  assert.deepEqual(
    [0, 4, 8, 12].map((id) => resolveShard({ env: { SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '4', SLURM_ARRAY_TASK_COUNT: '4' } })!.index),
    [1, 2, 3, 4],
  );
  assert.throws(() => resolveShard({ numShards: 3, env: { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '4' } }), /SLURM_ARRAY_TASK_COUNT=4 and --num-shards 3 disagree/);
  assert.equal(resolveShard({ numShards: 8, env: { AWS_BATCH_JOB_ARRAY_INDEX: '7' } })!.index, 8);
  assert.throws(() => resolveShard({ env: { AWS_BATCH_JOB_ARRAY_INDEX: 'x' } }), /AWS_BATCH_JOB_ARRAY_INDEX='x' is not a non-negative integer/);
  assert.throws(() => resolveShard({ numShards: 4, env: {} }), /--num-shards 4 without a shard index/);
  // Disjoint, covering, balanced to one image.
  for (const [total, n] of [[1000, 4], [10, 3], [2, 5]]) {
    const parts = Array.from({ length: n }, (_, i) => shardPositions(total, { index: i + 1, count: n, from: '' }));
    assert.deepEqual(parts.flat().sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i));
    const sizes = parts.map((p) => p.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
  }
});

/** One pseudo-labelling run in this process (as the CLI does it, summary files included). */
function labelHere(out: string, shard: Shard | null, workers = 1) {
  return runPseudoLabel({ model, data, split: 'train', out, providers: ['cpu'], scales: [1, 0.5, 1.5, 2], flip: true, useImageLabels: false, writeCams: true, workers, quiet: true, shard });
}

test('acceptance 4 (24 images): four shards, two at once, one killed and rerun = the unsharded output tree; --merge-summaries', async (t) => {
  const a = join(dir, 'A');
  assert.equal((await labelHere(a, null, 0)).processed, IMAGES);

  const b = join(dir, 'B');
  // Shard 1 here and shard 2 (a Kubernetes Indexed Job's task, through the CLI) at the same time, into the same folder.
  const [r1, s2] = await Promise.all([labelHere(b, resolveShard({ shard: '1/4', env: {} })), finished(label(b, ['--num-shards', '4'], { JOB_COMPLETION_INDEX: '1' }))]);
  assert.equal(r1.processed, 6);
  assert.equal(s2.code, 0, s2.stderr);
  assert.match(s2.stdout, /^shard 2\/4 \(from JOB_COMPLETION_INDEX=1, --num-shards 4\): 6 of 24 images/m);
  assert.equal((lastJson(s2.stdout) as { processed: number }).processed, 6);
  // Shard 3: a Slurm array task (--array=1-4).
  const r3 = await labelHere(b, resolveShard({ env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' } }));
  assert.equal(r3.processed, 6);

  // Shard 4 (an AWS Batch array task) is SIGKILLed once some of its label maps exist.
  const labels = join(b, 'labels');
  const count = () => readdirSync(labels).filter((n) => n.endsWith('.png')).length;
  const child = label(b, ['--num-shards', '4'], { AWS_BATCH_JOB_ARRAY_INDEX: '3' });
  const exit = finished(child);
  for (let i = 0; i < 6000 && count() < 20 && child.exitCode === null; i++) await sleep(5);
  child.kill('SIGKILL');
  assert.equal((await exit).code, null, 'shard 4 was killed before it finished');
  const atKill = count() - 18;
  t.diagnostic(`shard 4 killed after ${atKill} of its 6 images`);
  assert.ok(atKill >= 2 && atKill < 6, `${atKill}`);

  const m1 = mergeShardSummaries(b);
  assert.deepEqual([m1.complete, m1.missing, m1.summary], [[1, 2, 3], [4], null]);

  const r4 = await labelHere(b, resolveShard({ numShards: 4, env: { AWS_BATCH_JOB_ARRAY_INDEX: '3' } }));
  assert.equal(r4.skipped_existing, atKill, 'the rerun resumes');
  const m2 = spawnSync(process.execPath, [WSSS, 'pseudo-label', '--merge-summaries', b], { encoding: 'utf8', cwd: REPO, env: envWith({}) });
  assert.equal(m2.status, 0, m2.stdout + m2.stderr);
  assert.match(m2.stdout, /4 of 4 shard\(s\) complete \(1, 2, 3, 4\)/);
  const merged = lastJson(m2.stdout);
  assert.equal(merged.all_complete, true);
  assert.equal(merged.labelled, IMAGES);

  const ta = tree(a);
  const tb = tree(b);
  const outputs = (m: Map<string, Buffer>) => [...m.keys()].filter((k) => /^(labels|cams)\//.test(k)).sort();
  assert.equal(outputs(ta).length, 2 * IMAGES);
  assert.deepEqual(outputs(tb), outputs(ta), 'same label and CAM files');
  for (const k of outputs(ta)) assert.ok(ta.get(k)!.equals(tb.get(k)!), `${k} differs`);
  assert.deepEqual([...tb.keys()].filter((k) => !/^(labels|cams|shards)\//.test(k)), ['summary.json'], 'nothing else (no temp files)');
  const strip = (buf: Buffer) => {
    const { run, ...rest } = JSON.parse(buf.toString('utf8')) as { run: unknown };
    assert.ok(run);
    return rest;
  };
  assert.deepEqual(strip(tb.get('summary.json')!), strip(ta.get('summary.json')!));
});
