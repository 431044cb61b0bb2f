// `wsss inspect`: what an .onnx file holds — inputs and outputs with their (symbolic) shapes,
// the wsss metadata, an op histogram and the parameter count — after checking that the file is a
// complete, self-consistent model (a truncated download or copy must not pass as a model).

import p from 'onnx-proto';

const { onnx } = p;

export interface ValueSummary {
  name: string;
  dtype: string;
  /** A number, a symbolic name (dim_param) or null when unnamed and unknown. */
  dims: (number | string | null)[];
}

export interface OnnxSummary {
  source: string;
  sizeBytes: number;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  graphName: string;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  metadata: Record<string, string>;
  /** [opType, count], most frequent first (ties by name). */
  ops: [string, number][];
  nodeCount: number;
  initializerCount: number;
  /** Sum of the element counts of all initializers. */
  parameterCount: number;
}

/** The bytes are not a complete ONNX model. */
export class OnnxFileError extends Error {
  override name = 'OnnxFileError';
}

const toNum = (v: unknown): number => (typeof v === 'number' ? v : v == null ? 0 : Number(String(v)));

function dtypeName(t: number): string {
  const name = onnx.TensorProto.DataType[t];
  return name ? name.toLowerCase() : `type${t}`;
}

const BYTES_PER_ELEM: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

function valueSummary(v: p.onnx.IValueInfoProto): ValueSummary {
  const tt = v.type?.tensorType;
  return {
    name: v.name ?? '',
    dtype: dtypeName(tt?.elemType ?? 0),
    dims: (tt?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? toNum(d.dimValue) : null)),
  };
}

/** Decodes and checks an ONNX model; `source` (the file name) prefixes every error. */
export function inspectOnnx(bytes: Uint8Array, source: string): OnnxSummary {
  let model: p.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxFileError(`${source}: not a readable ONNX model — the file is truncated or corrupt (${(e as Error).message})`);
  }
  const g = model.graph;
  if (!g || (g.node ?? []).length === 0 || (g.output ?? []).length === 0)
    throw new OnnxFileError(`${source}: not an ONNX model (no graph with nodes and outputs; ${bytes.byteLength} bytes)`);

  // Every node input must be defined before use, and every initializer must hold all its values:
  // a file cut at a protobuf field boundary decodes without error but fails one of these.
  const defined = new Set<string>([...(g.input ?? []).map((i) => i.name ?? ''), ...(g.initializer ?? []).map((i) => i.name ?? '')]);
  let parameterCount = 0;
  for (const init of g.initializer ?? []) {
    const n = (init.dims ?? []).reduce<number>((a, d) => a * toNum(d), 1);
    parameterCount += n;
    const width = BYTES_PER_ELEM[init.dataType ?? 0];
    const raw = init.rawData?.length ?? 0;
    const typed =
      (init.floatData?.length ?? 0) + (init.int64Data?.length ?? 0) + (init.int32Data?.length ?? 0) + (init.doubleData?.length ?? 0) + (init.uint64Data?.length ?? 0);
    const have = raw ? raw / (width ?? 1) : typed;
    if (width && have !== n && !(init.externalData?.length))
      throw new OnnxFileError(`${source}: initializer '${init.name}' has ${have} of its ${n} values — the file is truncated or corrupt`);
  }
  for (const node of g.node ?? []) {
    for (const i of node.input ?? [])
      if (i && !defined.has(i)) throw new OnnxFileError(`${source}: node '${node.name}' reads '${i}', which nothing defines — the file is truncated or corrupt`);
    for (const o of node.output ?? []) defined.add(o);
  }
  for (const o of g.output ?? [])
    if (!defined.has(o.name ?? '')) throw new OnnxFileError(`${source}: graph output '${o.name}' is never computed — the file is truncated or corrupt`);

  const hist = new Map<string, number>();
  for (const node of g.node ?? []) {
    const op = node.domain ? `${node.domain}.${node.opType}` : (node.opType ?? '?');
    hist.set(op, (hist.get(op) ?? 0) + 1);
  }
  const initNames = new Set((g.initializer ?? []).map((i) => i.name));
  return {
    source,
    sizeBytes: bytes.byteLength,
    irVersion: toNum(model.irVersion),
    opsets: (model.opsetImport ?? []).map((o) => ({ domain: o.domain || 'ai.onnx', version: toNum(o.version) })),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    graphName: g.name ?? '',
    // Older exporters list initializers as graph inputs too; those are not inputs a caller feeds.
    inputs: (g.input ?? []).filter((i) => !initNames.has(i.name)).map(valueSummary),
    outputs: (g.output ?? []).map(valueSummary),
    metadata: Object.fromEntries((model.metadataProps ?? []).map((e) => [e.key ?? '', e.value ?? ''])),
    ops: [...hist].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
    nodeCount: (g.node ?? []).length,
    initializerCount: (g.initializer ?? []).length,
    parameterCount,
  };
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

const shapeText = (dims: ValueSummary['dims']) => `[${dims.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;

/** Human-readable report of a summary. */
export function formatSummary(s: OnnxSummary): string {
  const lines: string[] = [];
  lines.push(`${s.source}: ${formatBytes(s.sizeBytes)}, ONNX IR ${s.irVersion}, opset ${s.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}${s.producer ? `, producer ${s.producer}` : ''}`);
  lines.push('inputs:');
  for (const v of s.inputs) lines.push(`  ${v.name}  ${v.dtype} ${shapeText(v.dims)}`);
  lines.push('outputs:');
  for (const v of s.outputs) lines.push(`  ${v.name}  ${v.dtype} ${shapeText(v.dims)}`);
  const meta = Object.entries(s.metadata);
  lines.push(meta.length ? 'metadata:' : 'metadata: (none — not a wsss export)');
  for (const [k, v] of meta) lines.push(`  ${k}: ${v}`);
  lines.push(`ops (${s.nodeCount} nodes):`);
  for (const [op, n] of s.ops) lines.push(`  ${String(n).padStart(5)}  ${op}`);
  lines.push(`parameters: ${s.parameterCount.toLocaleString('en-US')} values in ${s.initializerCount} initializers`);
  return lines.join('\n');
}
