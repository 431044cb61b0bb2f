#!/usr/bin/env node
// Builds the dense CRF's Node-API addon from runtime/crf/native/crf.c + crf_node.c:
//   runtime/crf/native/build/wsss_crf.node  (+ build-info.json)
//
// Runs from `npm ci` (postinstall, with --optional) and by hand with `npm run build:crf`.
// On x86-64 crf.c is compiled twice (AVX2+FMA and baseline) and crf_dispatch.c picks the copy
// for the CPU at load time, so the binary is not tied to the machine it was built on.
//
// --optional: never fail (exit 0 with a note): without a compiler the CRF runs on its
// WebAssembly build (runtime/crf/wasm/crf.wasm, committed), which works everywhere Node does.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildAddon, findCompiler, findNodeApiHeaders, supportsFlags } from '../../train/kernels/native-toolchain.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, 'native');
const outDir = join(srcDir, 'build');
const optional = process.argv.includes('--optional');

async function build() {
  const { cc, version } = findCompiler();
  const include = findNodeApiHeaders();
  const base = ['-O3', '-std=gnu11', '-fPIC', '-pthread', '-fvisibility=hidden', '-fno-math-errno', `-I${srcDir}`];
  // crf.c twice: an AVX2+FMA copy and a baseline one; crf_dispatch.c picks one at load time
  const avx2 = ['-mavx2', '-mfma'];
  const withAvx2 = process.arch === 'x64' && supportsFlags(cc, avx2);
  const variants = withAvx2 ? ['avx2', 'generic'] : ['generic'];
  const units = [
    { src: 'crf.c', obj: 'crf_generic.o', flags: ['-DCRF_VARIANT=generic', '-Wno-psabi'] },
    { src: 'crf_dispatch.c', flags: withAvx2 ? ['-DCRF_HAVE_AVX2'] : [] },
    { src: 'crf_node.c', flags: [`-I${include}`] },
  ];
  if (withAvx2) units.push({ src: 'crf.c', obj: 'crf_avx2.o', flags: ['-DCRF_VARIANT=avx2', ...avx2] });
  await buildAddon({ cc, srcDir, outDir, name: 'wsss_crf.node', base, units, info: { compiler: version, variants } });
  console.log(`wsss crf: built the native dense CRF (${variants.join(', ')}) with ${version}`);
}

try {
  await build();
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  if (optional) {
    console.log(`wsss crf: native build skipped (${msg.split('\n')[0]}); the dense CRF runs on its WebAssembly build. Run \`npm run build:crf\` to retry.`);
    process.exit(0);
  }
  console.error(`wsss crf: native build failed: ${msg}`);
  process.exit(1);
}
