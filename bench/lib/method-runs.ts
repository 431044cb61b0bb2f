// The methods benchmark's cache layout and its way of running `wsss`, shared by the benchmarks
// that read its runs (methods.ts writes them, second-stage.ts trains DeepLab on their pseudo-labels).
//   OUT/data-<preset>-s<data seed>/                     the synthetic set
//   OUT/runs/<entry>-<backbone>-<preset>-d<ds>-s<seed>[-e<epochs>]/
//        result.json (config, pseudo-label mIoU, …), run/, model.onnx, pseudo/labels, pseudo/cams, log.txt

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WSSS = fileURLToPath(new URL('../../bin/wsss.js', import.meta.url));

/** The synthetic data set of a preset and data seed under the cache. */
export function benchDataDir(out: string, preset: string, dataSeed: number): string {
  return join(out, `data-${preset}-s${dataSeed}`);
}

/** The cache folder of one (entry, seed): an entry is a method, 'method:variant' or 'method:label-variant'. */
export function methodRunDir(out: string, key: string, o: { backbone: string; preset: string; dataSeed: number; seed: number; epochs?: string | null }): string {
  return join(out, 'runs', `${key.replace(':', '-')}-${o.backbone}-${o.preset}-d${o.dataSeed}-s${o.seed}${o.epochs ? `-e${o.epochs}` : ''}`);
}

/** Runs `wsss ...args`, its output appended to `log`; resolves with stdout's last line. */
export function wsss(args: string[], log: string): Promise<string> {
  return new Promise((res, rej) => {
    const file = createWriteStream(log, { flags: 'a' });
    file.write(`\n$ wsss ${args.join(' ')}\n`);
    const child = spawn(process.execPath, [WSSS, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      file.write(d);
    });
    child.stderr.on('data', (d: Buffer) => file.write(d));
    child.on('error', rej);
    child.on('close', (code) => {
      file.end();
      if (code === 0) res(stdout.trim().split('\n').pop() ?? '');
      else rej(new Error(`wsss ${args[0]} failed (exit ${code}); see ${log}`));
    });
  });
}
