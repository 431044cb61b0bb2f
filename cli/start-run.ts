// The stages of `wsss start`, each run as the `wsss` command a user would type.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './errors.ts';

const WSSS = fileURLToPath(new URL('../bin/wsss.js', import.meta.url));

/** Run `wsss ...args`, echoing its output; returns stdout's last line. */
function wsss(args: string[]): Promise<string> {
  console.log(`\n$ wsss ${args.join(' ')}`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [WSSS, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stdout.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(out.trim().split('\n').pop() ?? '');
      else reject(new CliError(`stage 'wsss ${args[0]}' failed (exit ${code})`, code ?? 1));
    });
  });
}

export async function runStart(a: { data: string; out: string; preset: string; epochs?: number; seed?: number }): Promise<void> {
  const t0 = performance.now();
  const data = resolve(a.data);
  const out = resolve(a.out);
  if (!existsSync(join(data, 'synth.json'))) await wsss(['synth', '--out', data, '--preset', a.preset, '--seed', '0']);
  else console.log(`using the data set in ${data}`);

  const run = join(out, 'cam');
  await wsss(['train', '--data', data, '--out', run, '--seed', String(a.seed ?? 0), ...(a.epochs ? ['--epochs', String(a.epochs)] : [])]);
  const model = join(run, 'model.onnx');
  await wsss(['export', '--run', run, '--out', model, '--verify']);
  const pseudo = join(out, 'pseudo');
  await wsss(['pseudo-label', '--model', model, '--data', data, '--split', 'train', '--out', pseudo, '--use-image-labels', '--ep', 'cpu']);
  const report = join(out, 'report.html');
  const evalJson = join(out, 'eval.json');
  const last = await wsss([
    'eval',
    '--gt', data,
    '--pred', join(pseudo, 'labels'),
    '--cams', join(pseudo, 'cams'),
    '--list', join(data, 'ImageSets', 'Segmentation', 'train.txt'),
    '--json', evalJson,
    '--html', report,
  ]);
  const figures = JSON.parse(last) as { miou: number; best_threshold?: number };
  const minutes = (performance.now() - t0) / 60000;
  console.log(`\npseudo-label mIoU on the synthetic train split: ${figures.miou.toFixed(4)}  (${minutes.toFixed(1)} min)`);
  console.log(`report: ${report}`);
  console.log(JSON.stringify({ miou: figures.miou, report, eval: evalJson, model, minutes: Number(minutes.toFixed(2)) }));
}
