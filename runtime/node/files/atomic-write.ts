// Atomic file writes: write to a temporary file in the same directory, then rename over the
// target, so an interrupted process leaves either the old complete file or the new one,
// never a half-written file. Temp names share one recognisable suffix so a rerun can clean
// leftovers of a killed run (removeStaleTempFiles).

import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const TEMP_SUFFIX = '.wsss-tmp';

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}${TEMP_SUFFIX}`);
}

/** `ensureDir: false` skips creating the folder (a syscall per file that batch writers hoist out of their loop). */
export function writeFileAtomicSync(path: string, data: Uint8Array | string, options: { ensureDir?: boolean } = {}): void {
  if (options.ensureDir !== false) mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** writeFileAtomicSync without blocking the calling thread (the syscalls run on libuv's thread pool). */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: { ensureDir?: boolean } = {}): Promise<void> {
  if (options.ensureDir !== false) await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The file a temp file was going to become (its base name), or null for other names. */
export function tempTarget(tempBaseName: string): string | null {
  const m = /^\.(.+)\.\d+\.[a-z0-9]*\.wsss-tmp$/.exec(tempBaseName);
  return m ? m[1] : null;
}

/**
 * Delete temp files a killed run left in `dir` (not recursive). Returns how many were removed.
 * `owns(target)`: only temp files of these targets (base names) — processes sharing a folder
 * (the shards of one job) must not delete each other's files in flight.
 */
export function removeStaleTempFiles(dir: string, owns?: (target: string) => boolean): number {
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (name.endsWith(TEMP_SUFFIX) && (!owns || owns(tempTarget(name) ?? ''))) {
      rmSync(join(dir, name), { force: true });
      n++;
    }
  }
  return n;
}
