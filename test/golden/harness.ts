// Runs every golden-vector file of a directory against the project's implementation of its
// module: one line per file (pass / FAIL with the worst error / pending) and a summary object.
// Honest by construction: a vector whose module has no adapter FAILS, unless the module is on the
// explicit pending list (./pending.ts), which names the method that will implement it.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PENDING_MODULES } from './pending.ts';
import { goldenModules } from './registry.ts';
import { compareOutput, loadVector, type OutputCheck } from './vector.ts';

export interface FileResult {
  file: string;
  module: string;
  status: 'pass' | 'fail' | 'pending';
  checks: OutputCheck[];
  /** Expected outputs the implementation did not return. */
  unchecked: string[];
  message: string;
}

export interface GoldenSummary {
  passed: number;
  failed: number;
  /** Pending modules met in the directory, as 'module (method, issue)'. */
  pending: string[];
}

export async function runGoldenFile(path: string): Promise<FileResult> {
  const file = path.split('/').pop()!;
  let v;
  try {
    v = loadVector(path);
  } catch (e) {
    return { file, module: '?', status: 'fail', checks: [], unchecked: [], message: `unreadable vector file: ${(e as Error).message}` };
  }
  const load = goldenModules[v.module] as (typeof goldenModules)[string] | undefined;
  const pending = PENDING_MODULES[v.module];
  if (load && pending) return { file, module: v.module, status: 'fail', checks: [], unchecked: [], message: `module has an adapter but is still on the pending list (${pending}): remove it from test/golden/pending.ts` };
  if (!load && pending) return { file, module: v.module, status: 'pending', checks: [], unchecked: [], message: `not implemented yet: ${pending}` };
  if (!load) return { file, module: v.module, status: 'fail', checks: [], unchecked: [], message: `unknown module '${v.module}': no adapter in test/golden/registry.ts and not on the pending list` };
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
  const summary: GoldenSummary = { passed: 0, failed: 0, pending: [] };
  for (const f of files) {
    const r = await runGoldenFile(join(dir, f));
    results.push(r);
    if (r.status === 'pass') summary.passed++;
    else if (r.status === 'fail') summary.failed++;
    else {
      const entry = `${r.module} (${PENDING_MODULES[r.module]})`;
      if (!summary.pending.includes(entry)) summary.pending.push(entry);
    }
    log(`${r.status === 'fail' ? 'FAIL   ' : r.status.padEnd(7)}  ${f}  [${r.module}]  ${r.message}`);
  }
  const pendingFiles = results.filter((r) => r.status === 'pending').length;
  log(`passed ${summary.passed}, failed ${summary.failed}, pending ${pendingFiles} file(s) of ${summary.pending.length} module(s)`);
  return { results, summary };
}
