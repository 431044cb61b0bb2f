#!/usr/bin/env node
// Builds the native CPU kernels (train/kernels/native/*.c) into a Node-API addon:
//   train/kernels/native/build/wsss_kernels.node  (+ build-info.json, read by `wsss doctor`)
//
// Runs from `npm ci` (the root package's postinstall, with --optional) and by hand with
// `npm run build:kernels`; the toolchain helpers are in native-toolchain.mjs. One binary holds
// AVX-512, AVX2+FMA and baseline variants of the kernels and picks one at load time, so it is
// not tied to the CPU it was built on.
//
// --optional: never fail (exit 0 with a note): without a compiler the backend falls back to its
// portable JavaScript kernels, which `wsss doctor` reports.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildAddon, findCompiler, findNodeApiHeaders, supportsFlags } from './native-toolchain.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, 'native');
const outDir = join(srcDir, 'build');
const optional = process.argv.includes('--optional');
const quiet = process.argv.includes('--quiet');

function log(msg) {
  if (!quiet) console.log(`wsss kernels: ${msg}`);
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
  await buildAddon({ cc, srcDir, outDir, name: 'wsss_kernels.node', base, units, info: { compiler: version, variants } });
  log(`built native kernels (${variants.join(', ')}) with ${version}`);
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
