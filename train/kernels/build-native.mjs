#!/usr/bin/env node
// Builds the native CPU kernels (train/kernels/native/*.c) into a Node-API addon:
//   train/kernels/native/build/wsss_kernels.node  (+ build-info.json, read by `wsss doctor`)
//
// Runs from `npm ci` (the root package's postinstall, with --optional) and by hand with
// `npm run build:kernels`. It calls the C compiler directly rather than node-gyp: the addon
// only needs node_api.h, which ships with Node, so nothing is downloaded. One binary holds
// AVX-512, AVX2+FMA and baseline variants of the kernels and picks one at load time, so it is
// not tied to the CPU it was built on.
//
// --optional: never fail (exit 0 with a note): without a compiler the backend falls back to its
// portable JavaScript kernels, which `wsss doctor` reports.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, 'native');
const outDir = join(srcDir, 'build');
const optional = process.argv.includes('--optional');
const quiet = process.argv.includes('--quiet');

function log(msg) {
  if (!quiet) console.log(`wsss kernels: ${msg}`);
}

function findCompiler() {
  const candidates = [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean);
  for (const cc of candidates) {
    const r = spawnSync(cc, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { cc, version: r.stdout.split('\n')[0].trim() };
  }
  throw new Error(`no C compiler found (tried ${candidates.join(', ')}; set CC to choose one)`);
}

function findNodeApiHeaders() {
  const candidates = [
    process.env.WSSS_NODE_INCLUDE,
    resolve(dirname(process.execPath), '..', 'include', 'node'),
    process.config?.variables?.node_prefix ? join(process.config.variables.node_prefix, 'include', 'node') : undefined,
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  for (const dir of candidates) if (existsSync(join(dir, 'node_api.h'))) return dir;
  throw new Error(`node_api.h not found (looked in ${candidates.join(', ')}; set WSSS_NODE_INCLUDE)`);
}

function supportsFlags(cc, flags) {
  const r = spawnSync(cc, [...flags, '-x', 'c', '-c', '-o', process.platform === 'win32' ? 'NUL' : '/dev/null', '-'], {
    input: 'int main(void){return 0;}',
    encoding: 'utf8',
  });
  return r.status === 0;
}

function run(cmd, args) {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', fail);
    p.on('close', (code) => (code === 0 ? ok() : fail(new Error(`${cmd} ${args.join(' ')}\n${err.trim()}`))));
  });
}

async function build() {
  const { cc, version } = findCompiler();
  const include = findNodeApiHeaders();
  const base = ['-O3', '-std=gnu11', '-fPIC', '-pthread', '-fvisibility=hidden', '-fno-math-errno', `-I${srcDir}`];
  const units = [
    { src: 'pool.c', flags: [] },
    { src: 'isa_generic.c', flags: [] },
    { src: 'addon.c', flags: [`-I${include}`] },
  ];
  const variants = ['generic'];
  if (process.arch === 'x64') {
    const avx512 = ['-mavx512f', '-mavx512vl', '-mavx2', '-mfma'];
    const avx2 = ['-mavx2', '-mfma'];
    if (supportsFlags(cc, avx512) && supportsFlags(cc, avx2)) {
      units.push({ src: 'isa_avx512.c', flags: avx512 }, { src: 'isa_avx2.c', flags: avx2 });
      variants.push('avx512', 'avx2');
      units.push({ src: 'dispatch.c', flags: ['-DWK_HAVE_X86_VARIANTS'] });
    } else {
      units.push({ src: 'dispatch.c', flags: [] });
    }
  } else {
    units.push({ src: 'dispatch.c', flags: [] });
  }
  const tmp = mkdtempSync(join(tmpdir(), 'wsss-kernels-'));
  try {
    const objects = units.map((u) => join(tmp, u.src.replace(/\.c$/, '.o')));
    // two at a time: the machines this runs on are small
    const queue = units.map((u, i) => () => run(cc, [...base, ...u.flags, '-c', join(srcDir, u.src), '-o', objects[i]]));
    await Promise.all(
      [0, 1].map(async () => {
        for (let job = queue.shift(); job; job = queue.shift()) await job();
      }),
    );
    const linkFlags = ['-shared', '-pthread', '-lm'];
    if (process.platform === 'darwin') linkFlags.push('-undefined', 'dynamic_lookup');
    const linked = join(tmp, 'wsss_kernels.node');
    await run(cc, [...objects, ...linkFlags, '-o', linked]);
    mkdirSync(outDir, { recursive: true });
    // atomic replace: a process loading the old addon never sees a half-written file
    const staged = join(outDir, `wsss_kernels.node.${process.pid}.tmp`);
    rmSync(staged, { force: true });
    renameOrCopy(linked, staged);
    renameSync(staged, join(outDir, 'wsss_kernels.node'));
    const infoTmp = join(outDir, `build-info.json.${process.pid}.tmp`);
    writeFileSync(
      infoTmp,
      JSON.stringify(
        { compiler: version, variants, node: process.version, napi: process.versions.napi, arch: process.arch, builtAt: new Date().toISOString() },
        null,
        2,
      ) + '\n',
    );
    renameSync(infoTmp, join(outDir, 'build-info.json'));
    log(`built native kernels (${variants.join(', ')}) with ${version}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function renameOrCopy(from, to) {
  try {
    renameSync(from, to);
  } catch {
    copyFileSync(from, to); // tmpdir on another file system
  }
}

try {
  await build();
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  if (optional) {
    console.log(`wsss kernels: native build skipped (${msg.split('\n')[0]}); training falls back to the JavaScript kernels. Run \`npm run build:kernels\` to retry.`);
    process.exit(0);
  }
  console.error(`wsss kernels: native build failed: ${msg}`);
  process.exit(1);
}
