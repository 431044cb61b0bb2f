// Start tfjs for training with the best backend available (native packages when installed,
// else our fast CPU kernels, else the stock CPU kernels). Returns the backend's name.
import { initTfjs } from './tfjs-backend.ts';

export async function startTfjs(preferred?: string): Promise<string> {
  try {
    // The fast-kernel backend selector (train/backend-select.ts) may not be present in a minimal build.
    const modulePath = './backend-select.ts';
    const sel = (await import(modulePath)) as { selectTfjsBackend(p?: string): Promise<{ name: string }> };
    const r = await sel.selectTfjsBackend(preferred);
    return r.name;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    return initTfjs({ backend: preferred ?? 'cpu' });
  }
}
