// Runs every golden-vector file of a directory against the project's implementation of its
// module: one line per file (pass / FAIL with the worst error / skipped) and a summary object.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { goldenModules } from './registry.ts';
import { compareOutput, loadVector, type OutputCheck } from './vector.ts';

export interface FileResult {
  file: string;
  module: string;
  status: 'pass' | 'fail' | 'skipped';
  checks: OutputCheck[];
  /** Expected outputs the implementation did not return. */
  unchecked: string[];
  message: string;
}

export interface GoldenSummary {
  passed: number;
  failed: number;
  skipped: number;
  modules: Record<string, { passed: number; failed: number; skipped: number }>;
}

export async function runGoldenFile(path: string): Promise<FileResult> {
  const v = loadVector(path);
  const file = path.split('/').pop()!;
  const load = goldenModules[v.module];
  if (!load) return { file, module: v.module, status: 'skipped', checks: [], unchecked: [], message: 'module not implemented yet' };
  let outputs;
  try {
    const impl = await load();
    outputs = await impl(v);
  } catch (e) {
    return { file, module: v.module, status: 'fail', checks: [], unchecked: [], message: `threw: ${(e as Error).stack ?? e}` };
  }
  const checks: OutputCheck[] = [];
  const unchecked: string[] = [];
  for (const [name, expected] of Object.entries(v.outputs)) {
    const actual = outputs[name];
    if (!actual) unchecked.push(name);
    else checks.push(compareOutput(name, expected, actual, v.tolerance));
  }
  if (checks.length === 0) return { file, module: v.module, status: 'fail', checks, unchecked, message: 'implementation returned none of the expected outputs' };
  const failed = checks.filter((c) => !c.ok);
  const status = failed.length ? 'fail' : 'pass';
  const message = failed.length
    ? failed.map((c) => `${c.name}: ${c.detail}`).join('; ')
    : `${checks.length} output(s), worst abs err ${Math.max(...checks.map((c) => c.worstAbsErr)).toExponential(2)}` +
      (unchecked.length ? `; not computed: ${unchecked.join(', ')}` : '');
  return { file, module: v.module, status, checks, unchecked, message };
}

export async function runGoldenDir(dir: string, log: (line: string) => void = () => {}): Promise<{ results: FileResult[]; summary: GoldenSummary }> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const results: FileResult[] = [];
  const summary: GoldenSummary = { passed: 0, failed: 0, skipped: 0, modules: {} };
  for (const f of files) {
    const r = await runGoldenFile(join(dir, f));
    results.push(r);
    const key = r.status === 'pass' ? 'passed' : r.status === 'fail' ? 'failed' : 'skipped';
    summary[key]++;
    const m = (summary.modules[r.module] ??= { passed: 0, failed: 0, skipped: 0 });
    m[key]++;
    log(`${r.status === 'fail' ? 'FAIL' : r.status.padEnd(4)}  ${f}  [${r.module}]  ${r.message}`);
  }
  return { results, summary };
}
