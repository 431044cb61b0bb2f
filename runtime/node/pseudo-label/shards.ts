// Pseudo-labelling as the shards of a cluster job: `--shard i/n` (1-based, as node's
// --test-shard), or the index and count a scheduler gives each task of an array job:
//
//   Kubernetes Indexed Job  JOB_COMPLETION_INDEX (0-based)          count: --num-shards
//   Slurm job array         SLURM_ARRAY_TASK_ID, _MIN, _STEP, _COUNT  (--array=1-4, 0-15:4, …)
//   AWS Batch array job     AWS_BATCH_JOB_ARRAY_INDEX (0-based)     count: --num-shards
//
// Shard i of n takes the images at list positions p with p mod n = i − 1: deterministic for a
// given list, disjoint, covering, and balanced to one image. Every shard writes into the same
// output folder (a shared volume): the images' files are disjoint, each shard cleans only its
// own images' temp files, and each writes its summary to shards/summary-<i>-of-<n>.json, so a
// retried shard resumes like any rerun. `--merge-summaries` then combines the shard summaries
// into the summary.json an unsharded run writes, and names the shards missing or failed.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
  /** Where the index and count came from ('--shard', 'JOB_COMPLETION_INDEX', …). */
  from: string;
}

function positiveInt(text: string | undefined): number | null {
  return text !== undefined && /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
}

/** '--shard i/n' → the shard; errors quote the flag's text. */
export function parseShardFlag(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`--shard '${text}': expected i/n, e.g. 2/4 (1-based, as node's --test-shard)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new Error(`--shard '${text}': the index must be in 1…${Math.max(count, 1)} and the count at least 1`);
  return { index, count, from: '--shard' };
}

/**
 * The shard this process is: --shard when given, else the scheduler's variables (Kubernetes,
 * Slurm, AWS Batch, in that order), else null (the whole list).
 */
export function resolveShard(o: { shard?: string; numShards?: number; env?: NodeJS.ProcessEnv }): Shard | null {
  const env = o.env ?? process.env;
  const n = o.numShards;
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw new Error(`--num-shards must be a positive integer, got ${n}`);
  if (o.shard !== undefined) {
    const s = parseShardFlag(o.shard);
    if (n !== undefined && n !== s.count) throw new Error(`--shard ${o.shard} and --num-shards ${n} disagree`);
    return s;
  }
  const fromZeroBased = (name: string, index0: number | null, count: number | undefined, countFrom: string): Shard => {
    if (index0 === null) throw new Error(`${name}='${env[name]}' is not a non-negative integer`);
    if (count === undefined) throw new Error(`${name} is set (${index0}) but the shard count is not: give --num-shards (the job's ${countFrom})`);
    if (index0 >= count) throw new Error(`${name}=${index0} is not below the shard count ${count}`);
    return { index: index0 + 1, count, from: `${name}=${env[name]}${countFrom === '--num-shards' || n !== undefined ? `, --num-shards ${count}` : ''}` };
  };
  if (env.JOB_COMPLETION_INDEX !== undefined) return fromZeroBased('JOB_COMPLETION_INDEX', positiveInt(env.JOB_COMPLETION_INDEX), n, 'completions');
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const id = positiveInt(env.SLURM_ARRAY_TASK_ID);
    const min = positiveInt(env.SLURM_ARRAY_TASK_MIN) ?? 0;
    const step = positiveInt(env.SLURM_ARRAY_TASK_STEP) ?? 1;
    const count = positiveInt(env.SLURM_ARRAY_TASK_COUNT) ?? undefined;
    if (count !== undefined && n !== undefined && count !== n) throw new Error(`SLURM_ARRAY_TASK_COUNT=${count} and --num-shards ${n} disagree`);
    if (id === null) throw new Error(`SLURM_ARRAY_TASK_ID='${env.SLURM_ARRAY_TASK_ID}' is not a non-negative integer`);
    if ((id - min) % step !== 0 || id < min) throw new Error(`SLURM_ARRAY_TASK_ID=${id} is not on the array's range (min ${min}, step ${step}); use --array=0-N or give --shard`);
    const s = fromZeroBased('SLURM_ARRAY_TASK_ID', (id - min) / step, count ?? n, 'array size (SLURM_ARRAY_TASK_COUNT is not set)');
    return { ...s, from: `SLURM_ARRAY_TASK_ID=${id} (min ${min}, step ${step}), ${count !== undefined ? `SLURM_ARRAY_TASK_COUNT=${count}` : `--num-shards ${n}`}` };
  }
  if (env.AWS_BATCH_JOB_ARRAY_INDEX !== undefined) return fromZeroBased('AWS_BATCH_JOB_ARRAY_INDEX', positiveInt(env.AWS_BATCH_JOB_ARRAY_INDEX), n, 'array size');
  if (n !== undefined && n > 1)
    throw new Error(`--num-shards ${n} without a shard index: give --shard i/${n}, or run as a task of an array job (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX set)`);
  return null;
}

/** The list positions of shard `s`: p with p mod n = i − 1. */
export function shardPositions(total: number, s: Shard): number[] {
  const out: number[] = [];
  for (let p = s.index - 1; p < total; p += s.count) out.push(p);
  return out;
}

export const SHARDS_DIR = 'shards';

export function shardSummaryPath(outDir: string, s: Pick<Shard, 'index' | 'count'>): string {
  return join(outDir, SHARDS_DIR, `summary-${s.index}-of-${s.count}.json`);
}

/** A shard's summary file: the unsharded summary's fields, plus the shard and each failure's list position. */
export interface ShardSummaryFile {
  shard: { index: number; count: number; from: string; list_images: number };
  images: number;
  labelled: number;
  failed: number;
  failures: { id: string; file: string; reason: string; position: number }[];
  run: { processed: number; skipped_existing: number; seconds: number; images_per_second: number; workers: number };
  [field: string]: unknown;
}

export interface MergeResult {
  count: number;
  complete: number[];
  missing: number[];
  /** Shards whose summary reports failed images or unlabelled ones. */
  failed: { index: number; failed: number; unlabelled: number }[];
  /** The merged summary (the unsharded run's summary.json fields), or null when shards are missing or disagree. */
  summary: Record<string, unknown> | null;
  /** Problems that make the shard summaries not one run (different options, list sizes). */
  conflicts: string[];
}

/** Fields that must agree between the shards of one run (everything but counts, failures and timings). */
const PER_RUN_FIELDS = ['model', 'provider', 'scales', 'flip', 'merge_rule', 'bg_threshold', 'use_image_labels', 'cam_format', 'crf'];

/**
 * Combine the shard summaries in `outDir`. The shard count is `count` when given, else the one
 * the summaries name (several different counts without `count` is an error).
 */
export function mergeShardSummaries(outDir: string, count?: number): MergeResult {
  const dir = join(outDir, SHARDS_DIR);
  if (!existsSync(dir)) throw new Error(`${outDir}: no ${SHARDS_DIR}/ folder: no shard has finished here (or this is not a sharded run's output)`);
  const found = new Map<number, Set<number>>(); // count → indices
  for (const name of readdirSync(dir)) {
    const m = /^summary-(\d+)-of-(\d+)\.json$/.exec(name);
    if (!m) continue;
    const [i, n] = [Number(m[1]), Number(m[2])];
    if (!found.has(n)) found.set(n, new Set());
    found.get(n)!.add(i);
  }
  if (count === undefined) {
    if (found.size === 0) throw new Error(`${dir}: no shard summaries (summary-<i>-of-<n>.json)`);
    if (found.size > 1) throw new Error(`${dir}: summaries of runs with different shard counts (${[...found.keys()].sort((a, b) => a - b).join(', ')}); give --num-shards`);
    count = [...found.keys()][0];
  }
  const present = found.get(count) ?? new Set<number>();
  const result: MergeResult = { count, complete: [], missing: [], failed: [], summary: null, conflicts: [] };
  const files: ShardSummaryFile[] = [];
  for (let i = 1; i <= count; i++) {
    if (!present.has(i)) {
      result.missing.push(i);
      continue;
    }
    const path = shardSummaryPath(outDir, { index: i, count });
    let s: ShardSummaryFile;
    try {
      s = JSON.parse(readFileSync(path, 'utf8')) as ShardSummaryFile;
    } catch (e) {
      result.conflicts.push(`${path}: unreadable (${(e as Error).message})`);
      continue;
    }
    files.push(s);
    const unlabelled = s.images - s.labelled;
    if (s.failed > 0 || unlabelled > 0) result.failed.push({ index: i, failed: s.failed, unlabelled });
    else result.complete.push(i);
  }
  if (files.length === 0) return result;
  const first = files[0];
  for (const s of files.slice(1)) {
    for (const f of PER_RUN_FIELDS)
      if (JSON.stringify(s[f]) !== JSON.stringify(first[f])) result.conflicts.push(`shard ${s.shard.index} has ${f} ${JSON.stringify(s[f])}, shard ${first.shard.index} ${JSON.stringify(first[f])}`);
    if (s.shard.list_images !== first.shard.list_images)
      result.conflicts.push(`shard ${s.shard.index} was given a list of ${s.shard.list_images} images, shard ${first.shard.index} one of ${first.shard.list_images}`);
  }
  if (result.missing.length || result.conflicts.length || files.length !== count) return result;
  // The unsharded summary's fields, in its order; failures in list order as it sorts them.
  const failures = files.flatMap((s) => s.failures).sort((a, b) => a.position - b.position).map(({ position: _p, ...f }) => f);
  const sum = (f: (s: ShardSummaryFile) => number) => files.reduce((a, s) => a + f(s), 0);
  const summary: Record<string, unknown> = {
    images: sum((s) => s.images),
    labelled: sum((s) => s.labelled),
    failed: sum((s) => s.failed),
    failures,
  };
  for (const f of PER_RUN_FIELDS) if (first[f] !== undefined) summary[f] = first[f];
  const seconds = sum((s) => s.run.seconds);
  summary.run = {
    processed: sum((s) => s.run.processed),
    skipped_existing: sum((s) => s.run.skipped_existing),
    seconds,
    images_per_second: seconds > 0 ? sum((s) => s.run.processed) / seconds : 0,
    workers: first.run.workers,
    shards: count,
  };
  result.summary = summary;
  return result;
}
