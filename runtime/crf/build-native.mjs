#!/usr/bin/env node
// Builds the dense CRF's Node-API addon from runtime/crf/native/crf.c + crf_node.c:
//   runtime/crf/native/build/wsss_crf.node  (+ build-info.json)
//
// Runs from `npm ci` (postinstall, with --optional) and by hand with `npm run build:crf`.
// On x86-64 the hot loops get an AVX2+FMA and a baseline copy picked at load time
// (target_clones), so the binary is not tied to the CPU it was built on.
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
  const clones = ['-DCRF_TARGET_CLONES'];
  const cloneTest = '__attribute__((target_clones("avx2","default"))) int f(int x){return x+1;} int main(void){return f(0);}';
  const variants = process.arch === 'x64' && supportsFlags(cc, clones, cloneTest) ? ['avx2', 'generic'] : ['generic'];
  const units = [
    { src: 'crf.c', flags: variants.length > 1 ? clones : [] },
    { src: 'crf_node.c', flags: [`-I${include}`] },
  ];
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
