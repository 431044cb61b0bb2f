// Shared by the CLI tests of `wsss segment` / `wsss pseudo-label`: an exported cam-tiny model
// (seeded random init — these tests check plumbing and bytes, not accuracy) and a way to run
// the real `wsss` binary.

import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { exportOnnx } from '../../export/export-onnx.ts';
import { initialiseAll } from '../../graphs/module.ts';
import { defaultClassNames, getGraph } from '../../graphs/registry.ts';

export const REPO = join(import.meta.dirname, '..', '..');
export const WSSS = join(REPO, 'bin', 'wsss.js');
export const CLASSES = defaultClassNames(6);

/** Writes cam-tiny (6 classes, seed `seed`) as an .onnx file. */
export function writeCamTinyModel(path: string, seed = 3): void {
  const graph = getGraph('cam-tiny', { classNames: CLASSES });
  writeFileSync(path, exportOnnx(graph, initialiseAll(graph.module, seed), { classNames: CLASSES }));
}

/** Runs `wsss ARGS…` to completion (CPU execution provider only, so no CUDA probing noise). */
export function wsss(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [WSSS, ...args], { encoding: 'utf8', cwd: REPO, env: { ...process.env, CI: '1' } });
}

/** Starts `wsss ARGS…` in the background. */
export function wsssAsync(...args: string[]) {
  return spawn(process.execPath, [WSSS, ...args], { cwd: REPO, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The JSON object on the last line of a command's stdout. */
export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

/** Every file under `root`, relative path → bytes (to compare output trees byte for byte). */
export function fileTree(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(root, p), readFileSync(p));
    }
  };
  walk(root);
  return out;
}
