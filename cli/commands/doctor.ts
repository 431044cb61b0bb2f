// `wsss doctor`: what this machine can run and why the rest is missing — the tfjs training
// backend (native packages tried in order, then our fast CPU kernels), how the fast kernels are
// built (native SIMD + threads, or the portable JavaScript fallback), onnxruntime-node's
// execution providers (CUDA is an explicit opt-in) and onnxruntime-web. Ends with one JSON line.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';

interface DoctorArgs {
  backend: string;
}

interface EpStatus {
  name: string;
  available: boolean;
  note: string;
}

const CUDA_HOWTO =
  'CUDA is opt-in: package.json\'s allowScripts keeps onnxruntime-node\'s CUDA download from running at install; to fetch the CUDA 12 provider run ' +
  '`ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` (needs an NVIDIA driver, CUDA 12 and cuDNN 9)';

async function onnxruntimeNode(): Promise<{ version?: string; eps: EpStatus[]; error?: string }> {
  const { createRequire } = await import('node:module');
  const { existsSync, readdirSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const require = createRequire(import.meta.url);
  let ort: typeof import('onnxruntime-node');
  let version: string;
  try {
    ort = await import('onnxruntime-node');
    version = (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch (e) {
    return { eps: [], error: `onnxruntime-node failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  // the provider libraries sit beside the binding: bin/napi-v*/<platform>/<arch>/
  const binRoot = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
  const libDirs: string[] = [];
  if (existsSync(binRoot))
    for (const napi of readdirSync(binRoot)) {
      const d = join(binRoot, napi, process.platform, process.arch);
      if (existsSync(d)) libDirs.push(d);
    }
  const hasLib = (stem: string) => libDirs.some((d) => readdirSync(d).some((f) => f.includes(stem)));
  const gpuDriver = existsSync('/proc/driver/nvidia/version');
  const eps: EpStatus[] = [];
  for (const b of ort.listSupportedBackends()) {
    if (b.name === 'cpu') eps.push({ name: 'cpu', available: true, note: 'bundled' });
    else if (b.name === 'cuda' || b.name === 'tensorrt') {
      const lib = hasLib(`providers_${b.name}`);
      const note = lib
        ? gpuDriver ? 'provider installed' : 'provider installed, but no NVIDIA driver is loaded on this machine'
        : `provider not installed. ${b.name === 'cuda' ? CUDA_HOWTO : 'TensorRT needs the CUDA provider plus a TensorRT install'}`;
      eps.push({ name: b.name, available: lib && gpuDriver, note });
    } else
      eps.push({
        name: b.name,
        available: b.bundled,
        note: b.bundled ? 'bundled; needs a GPU with Vulkan/Metal/D3D12 drivers at run time (not probed)' : 'not bundled with this build',
      });
  }
  return { version, eps };
}

async function onnxruntimeWeb(): Promise<{ version?: string; note: string }> {
  const { createRequire } = await import('node:module');
  const { existsSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const require = createRequire(import.meta.url);
  try {
    // the package's exports map hides package.json: walk up from its entry point
    let dir = dirname(require.resolve('onnxruntime-web'));
    while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
    const { readFileSync } = await import('node:fs');
    const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    const wasm = existsSync(join(dir, 'dist', 'ort-wasm-simd-threaded.wasm'));
    return {
      version,
      note: wasm
        ? 'installed: wasm EP (SIMD, threads when the page is cross-origin isolated) and WebGPU EP, in browsers'
        : 'installed, but its dist/ort-wasm-simd-threaded.wasm is missing',
    };
  } catch {
    return { note: 'not installed' };
  }
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe: 'Report the tfjs training backend, the fast CPU kernels and the onnxruntime execution providers available here, and why others are not',
  builder: (y) =>
    y.option('backend', {
      type: 'string',
      default: process.env.WSSS_TFJS_BACKEND || 'auto',
      describe: 'tfjs backend preference to resolve: auto | tfjs-node-gpu | tfjs-node | wsss-cpu | cpu',
    }),
  handler: async (a) => {
    const os = await import('node:os');
    const { selectTfjsBackend } = await import('../../train/backend-select.ts');
    const { loadNativeEngine, selectKernelEngine } = await import('../../train/kernels/engine.ts');
    const tf = await import('@tensorflow/tfjs-core');

    const cpus = os.cpus();
    const lines: string[] = [];
    const row = (label: string, value: string) => lines.push(`  ${label.padEnd(22)} ${value}`);

    lines.push('system');
    row('node', `${process.version} (${process.platform}-${process.arch})`);
    row('cpu', `${cpus[0]?.model?.trim() ?? 'unknown'}; ${os.availableParallelism()} usable core(s)`);

    lines.push('tfjs training backend');
    let choice;
    try {
      choice = await selectTfjsBackend(a.backend);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    row('tfjs-core', tf.version_core);
    for (const t of choice.tried) row(t.name, `${t.ok ? 'yes' : 'no '} — ${t.why}`);
    row('selected', choice.name);

    lines.push('fast CPU kernels (wsss-cpu)');
    const native = loadNativeEngine();
    let engine: string;
    try {
      engine = selectKernelEngine().description;
    } catch (e) {
      engine = (e as Error).message;
    }
    row('in use', engine);
    row('native addon', native.status.ok ? `loaded: ${native.status.detail}` : native.status.detail);
    if (native.status.buildInfo)
      row('native build', `${native.status.buildInfo.variants?.join(', ') ?? '?'} variants, ${native.status.buildInfo.compiler ?? 'unknown compiler'}`);
    row('simd', native.status.ok ? `${native.status.isa} (picked at load time from the CPU's features)` : 'none (JavaScript fallback)');
    row('threads', native.status.ok ? `${native.status.threads} (native thread pool; WSSS_THREADS overrides)` : '1 (JavaScript fallback)');
    row('wasm', 'not used (native addon, else plain JavaScript)');

    lines.push('onnxruntime (inference)');
    const ortNode = await onnxruntimeNode();
    row('onnxruntime-node', ortNode.error ?? ortNode.version ?? '?');
    for (const ep of ortNode.eps) row(`  EP ${ep.name}`, `${ep.available ? 'yes' : 'no '} — ${ep.note}`);
    const ortWeb = await onnxruntimeWeb();
    row('onnxruntime-web', `${ortWeb.version ?? ''}${ortWeb.version ? ': ' : ''}${ortWeb.note}`);

    console.log(lines.join('\n'));
    console.log(
      JSON.stringify({
        tfjs_backend: choice.name,
        tfjs_tried: choice.tried,
        fast_kernels: {
          engine,
          native: native.status.ok,
          native_detail: native.status.detail,
          isa: native.status.isa ?? null,
          threads: native.status.threads ?? 1,
          wasm: false,
        },
        onnxruntime_node: { version: ortNode.version ?? null, eps: ortNode.eps, error: ortNode.error ?? null },
        onnxruntime_web: { version: ortWeb.version ?? null, note: ortWeb.note },
        cpus: os.availableParallelism(),
      }),
    );
  },
};
