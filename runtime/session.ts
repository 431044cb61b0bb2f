// One session wrapper over the onnxruntime-common API, shared by onnxruntime-node and
// onnxruntime-web: the caller passes the ort module it loaded, so this file imports neither.
//
// Execution providers are tried ONE AT A TIME, in the caller's order. Handing onnxruntime a
// list would let it drop an EP it cannot create without saying so (onnxruntime-web does exactly
// that), and then nobody could tell which EP ran. With a single EP per attempt, a session that
// opens is known to run on that EP (plus onnxruntime's own CPU fallback for individual kernels
// the EP lacks, which every EP has), and an EP that cannot start shows up as a caught error.

import type { Env, InferenceSession, Tensor as OrtTensor } from 'onnxruntime-common';
import { ModelMetadataError, parseModelMetadata, type ModelInfo } from './model-metadata.ts';
import { readOnnxMetadataProps } from './onnx-metadata-props.ts';

/** The parts of an onnxruntime module (node or web) this wrapper uses. */
export interface OrtModule {
  InferenceSession: {
    create(buffer: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  env: Env;
}

/** A dense float32 tensor as plain data: what feeds take and outputs give. */
export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

export interface OpenModelOptions {
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu'] or ['webgpu', 'wasm']. */
  providers: string[];
  /**
   * CPU threads. onnxruntime-node: intra-op threads of this session. onnxruntime-web: wasm
   * threads, which only takes effect before the first session of the page is created (and needs
   * a cross-origin-isolated page; without it onnxruntime-web runs single-threaded).
   */
  threads?: number;
  /** Names the model (path or URL) in error messages. */
  source?: string;
  /** Extra session options (graph optimisation level, logging, …) merged into every attempt. */
  sessionOptions?: InferenceSession.SessionOptions;
}

export interface ProviderAttempt {
  provider: string;
  error: string;
}

export interface OpenModel {
  session: InferenceSession;
  /** The execution provider the session was created with: the one that runs the model. */
  provider: string;
  /** Providers tried before `provider` and why each failed. */
  failedProviders: ProviderAttempt[];
  metadata: ModelInfo;
  /** Raw metadata_props of the model. */
  metadataProps: Record<string, string>;
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** Milliseconds spent creating the session (all attempts). */
  loadMs: number;
  /**
   * Runs the model. Calls are queued so only one inference runs at a time on this session:
   * onnxruntime-web rejects overlapping runs, and a queue also bounds memory in a server.
   */
  run(feeds: Record<string, FloatTensor>, fetches?: readonly string[]): Promise<Record<string, FloatTensor>>;
  release(): Promise<void>;
}

/** No requested execution provider could open the model. */
export class NoProviderError extends Error {
  override name = 'NoProviderError';
  constructor(
    readonly source: string,
    readonly attempts: ProviderAttempt[],
  ) {
    super(
      `could not open ${source} with any execution provider: ` +
        attempts.map((a) => `${a.provider}: ${a.error}`).join('; '),
    );
  }
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

/** onnxruntime-node reads threads from session options; onnxruntime-web from env.wasm. */
function inNode(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
}

/**
 * Opens an exported wsss model: reads and checks its metadata (a model without wsss metadata
 * is refused before any session is created), then creates a session on the first provider of
 * `providers` that works.
 */
export async function openModel(ort: OrtModule, bytes: Uint8Array, options: OpenModelOptions): Promise<OpenModel> {
  const source = options.source ?? 'model';
  if (!options.providers.length) throw new Error('openModel: the provider list is empty');
  const metadataProps = readOnnxMetadataProps(bytes, source);
  const metadata = parseModelMetadata(metadataProps, source);

  const web = !inNode();
  if (web && options.threads !== undefined && ort.env.wasm) ort.env.wasm.numThreads = options.threads;

  const failedProviders: ProviderAttempt[] = [];
  const t0 = performance.now();
  let session: InferenceSession | null = null;
  let provider = '';
  for (const [i, p] of options.providers.entries()) {
    const sessionOptions: InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      // onnxruntime logs a failed EP to stderr itself; for an attempt that has a fallback the
      // failure is expected and reported through `failedProviders` instead, so keep it quiet.
      ...(i < options.providers.length - 1 ? { logSeverityLevel: 4 as const } : {}),
      ...options.sessionOptions,
      executionProviders: [p],
    };
    if (!web && options.threads !== undefined) sessionOptions.intraOpNumThreads = options.threads;
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptions);
      provider = p;
      break;
    } catch (e) {
      failedProviders.push({ provider: p, error: errorText(e) });
    }
  }
  if (!session) throw new NoProviderError(source, failedProviders);
  const loadMs = performance.now() - t0;

  const missingOutputs = metadata.outputs.map((o) => o.name).filter((n) => !session.outputNames.includes(n));
  if (missingOutputs.length) {
    await session.release();
    throw new ModelMetadataError(
      `model ${source}: metadata lists outputs ${missingOutputs.join(', ')} that the graph does not have ` +
        `(graph outputs: ${session.outputNames.join(', ')})`,
    );
  }

  const s = session;
  let queue: Promise<unknown> = Promise.resolve();
  const runNow = async (feeds: Record<string, FloatTensor>, fetches?: readonly string[]) => {
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor('float32', t.data, t.dims);
    const results = fetches ? await s.run(ortFeeds, fetches as string[]) : await s.run(ortFeeds);
    const out: Record<string, FloatTensor> = {};
    for (const [name, value] of Object.entries(results)) {
      const t = value as OrtTensor;
      if (t.type !== 'float32') throw new Error(`model ${source}: output ${name} is ${t.type}, expected float32`);
      // getData() downloads GPU-resident outputs; CPU outputs come back as they are.
      const data = (await t.getData()) as Float32Array;
      out[name] = { data, dims: [...t.dims] };
      if (t.location !== 'cpu') t.dispose();
    }
    return out;
  };

  return {
    session: s,
    provider,
    failedProviders,
    metadata,
    metadataProps,
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    loadMs,
    run(feeds, fetches) {
      const next = queue.then(() => runNow(feeds, fetches));
      queue = next.catch(() => undefined);
      return next;
    },
    release: () => s.release(),
  };
}
