// The ONNX graph under construction: nodes, initializers, graph inputs/outputs and the
// names that tie them together, kept in plain TypeScript structures so graph passes (batch-norm
// folding, pruning) can rewrite them before `encodeModel` turns them into protobuf bytes.
//
// Everything is ordered by creation, and names are derived from module paths and counters, never
// from time or randomness: the same forward code always yields the same bytes.

import p from 'onnx-proto';

const { onnx } = p;

export type ElemType = 'float32' | 'int64';

/**
 * A dimension while building: a number when static, a symbol (an input's dim_param such as 'N')
 * when it is known to equal that run-time size, null when only known at run time.
 */
export type Dim = number | string | null;

export type AttrValue =
  | { int: number }
  | { float: number }
  | { string: string }
  | { ints: number[] }
  | { floats: number[] };

export interface OnnxNode {
  name: string;
  opType: string;
  inputs: string[]; // '' = an omitted optional input
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface Initializer {
  name: string;
  dtype: ElemType;
  dims: number[];
  /** Values; null for a parameter whose values are attached at export time (see `param`). */
  data: Float32Array | BigInt64Array | null;
  /** Full parameter name when this initializer holds a module parameter. */
  param?: string;
}

export interface ValueInfo {
  name: string;
  dtype: ElemType;
  dims: Dim[];
}

export class OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers = new Map<string, Initializer>();
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly taken = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly constCache = new Map<string, string>();
  private readonly paramInits = new Map<string, string>();
  private readonly reserved = new Set<string>();

  /** `base` if free, else `base_1`, `base_2`, … Reserves the returned name. */
  uniqueName(base: string): string {
    let name = base;
    if (this.taken.has(name)) {
      let i = this.counters.get(base) ?? 1;
      while (this.taken.has(`${base}_${i}`)) i++;
      this.counters.set(base, i + 1);
      name = `${base}_${i}`;
    }
    this.taken.add(name);
    return name;
  }

  /**
   * Keeps `names` (the graph's output names, which are its contract) free for addOutput: nodes
   * created later that would take one of them get a suffixed name instead.
   */
  reserve(names: string[]): void {
    for (const n of names) {
      if (this.taken.has(n)) throw new Error(`cannot reserve '${n}': already used`);
      this.taken.add(n);
      this.reserved.add(n);
    }
  }

  /** Name for an unnamed node: '<scope>/<OpType>_<n>' with n counting per scope and op type. */
  autoName(scope: string, opType: string): string {
    const key = `${scope}/${opType}`;
    let n = this.counters.get(`#${key}`) ?? 0;
    let name: string;
    do name = scope ? `${key}_${n++}` : `${opType}_${n++}`;
    while (this.taken.has(name));
    this.counters.set(`#${key}`, n);
    this.taken.add(name);
    return name;
  }

  addInput(name: string, dtype: ElemType, dims: Dim[]): void {
    if (this.taken.has(name)) throw new Error(`graph input name '${name}' is already used`);
    this.taken.add(name);
    this.inputs.push({ name, dtype, dims });
  }

  /** Adds a node; its outputs are named `name` (one output) or `name:k`. Returns the output names. */
  addNode(name: string, opType: string, inputs: string[], nOutputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const outputs = nOutputs === 1 ? [name] : Array.from({ length: nOutputs }, (_, k) => this.uniqueName(`${name}:${k}`));
    this.nodes.push({ name, opType, inputs, outputs, attrs });
    return outputs;
  }

  /** The initializer holding module parameter `paramName` (named after it), created on first use. */
  param(paramName: string, dims: number[]): string {
    const existing = this.paramInits.get(paramName);
    if (existing) return existing;
    const name = this.uniqueName(paramName);
    this.paramInits.set(paramName, name);
    this.initializers.set(name, { name, dtype: 'float32', dims: [...dims], data: null, param: paramName });
    return name;
  }

  /** A new initializer with a unique name derived from `base`. */
  addInitializer(base: string, dtype: ElemType, dims: number[], data: Float32Array | BigInt64Array): string {
    const name = this.uniqueName(base);
    this.initializers.set(name, { name, dtype, dims: [...dims], data });
    return name;
  }

  /** An int64 constant (axes, shapes, pads, indices), shared between all nodes that use the same values. */
  constI64(values: readonly number[], dims: number[] = [values.length]): string {
    const key = `i64|${dims.join(',')}|${values.join(',')}`;
    let name = this.constCache.get(key);
    if (!name) {
      const label = values.length <= 8 ? values.join('_').replace(/-/g, 'm') : `${values.length}v${this.constCache.size}`;
      name = this.addInitializer(`const_i64_${label || 'empty'}`, 'int64', dims, BigInt64Array.from(values, (v) => BigInt(v)));
      this.constCache.set(key, name);
    }
    return name;
  }

  /** A float32 constant, shared like constI64 (scalars such as 1e-5 recur often). */
  constF32(values: ArrayLike<number>, dims: number[], base: string): string {
    const data = Float32Array.from(values as ArrayLike<number>);
    const key = `f32|${dims.join(',')}|${Buffer.from(data.buffer).toString('base64')}`;
    let name = this.constCache.get(key);
    if (!name) {
      name = this.addInitializer(base, 'float32', dims, data);
      this.constCache.set(key, name);
    }
    return name;
  }

  /** Marks `value` as graph output `name`, renaming the value (or adding an Identity) as needed. */
  addOutput(value: string, name: string, dtype: ElemType, dims: Dim[]): void {
    if (this.outputs.some((o) => o.name === name)) throw new Error(`duplicate graph output '${name}'`);
    const free = this.reserved.delete(name) || !this.taken.has(name);
    if (value !== name && !free) throw new Error(`graph output name '${name}' collides with another graph value`);
    this.taken.add(name);
    const producer = this.nodes.find((n) => n.outputs.includes(value));
    const isOutputAlready = this.outputs.some((o) => o.name === value);
    if (value === name) {
      // already named right
    } else if (producer && !isOutputAlready && !this.inputs.some((i) => i.name === value)) {
      // Rename the produced value so the output keeps the node that made it (no extra Identity).
      for (const n of this.nodes) {
        n.inputs = n.inputs.map((i) => (i === value ? name : i));
        n.outputs = n.outputs.map((o) => (o === value ? name : o));
      }
    } else {
      this.nodes.push({ name, opType: 'Identity', inputs: [value], outputs: [name], attrs: {} });
    }
    this.outputs.push({ name, dtype, dims });
  }

  /** Removes nodes that no graph output depends on, then initializers no node reads. */
  prune(): void {
    const needed = new Set(this.outputs.map((o) => o.name));
    const keep = new Array<boolean>(this.nodes.length).fill(false);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (n.outputs.some((o) => needed.has(o))) {
        keep[i] = true;
        for (const inp of n.inputs) if (inp) needed.add(inp);
      }
    }
    const kept = this.nodes.filter((_, i) => keep[i]);
    this.nodes.length = 0;
    this.nodes.push(...kept);
    for (const name of [...this.initializers.keys()]) if (!needed.has(name)) this.initializers.delete(name);
  }

  /** Number of nodes reading each value. */
  consumerCounts(): Map<string, number> {
    const c = new Map<string, number>();
    for (const n of this.nodes) for (const i of n.inputs) if (i) c.set(i, (c.get(i) ?? 0) + 1);
    for (const o of this.outputs) c.set(o.name, (c.get(o.name) ?? 0) + 1);
    return c;
  }
}

// ---- serialisation --------------------------------------------------------------------------

const ELEM = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 } as const;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function rawBytes(data: Float32Array | BigInt64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  else data.forEach((v, i) => dv.setBigInt64(i * 8, v, true));
  return out;
}

function valueInfoProto(v: ValueInfo): p.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM[v.dtype],
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) },
      },
    },
  };
}

function attributeProto(name: string, v: AttrValue): p.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in v) return { name, type: T.INT, i: v.int };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('string' in v) return { name, type: T.STRING, s: new TextEncoder().encode(v.string) };
  if ('ints' in v) return { name, type: T.INTS, ints: v.ints };
  return { name, type: T.FLOATS, floats: v.floats };
}

export interface ModelOptions {
  graphName: string;
  opset: number;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  /** Written in insertion order. */
  metadata: Record<string, string>;
}

/** Serialises the graph to ONNX ModelProto bytes. Every parameter initializer must have data. */
export function encodeModel(g: OnnxGraph, o: ModelOptions): Uint8Array {
  const initializers: p.onnx.ITensorProto[] = [];
  for (const init of g.initializers.values()) {
    if (!init.data) throw new Error(`initializer '${init.name}' has no values (parameter not provided)`);
    initializers.push({ name: init.name, dataType: ELEM[init.dtype], dims: init.dims, rawData: rawBytes(init.data) });
  }
  const model: p.onnx.IModelProto = {
    irVersion: o.irVersion,
    opsetImport: [{ domain: '', version: o.opset }],
    producerName: o.producerName,
    producerVersion: o.producerVersion,
    graph: {
      name: o.graphName,
      node: g.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, v]) => attributeProto(k, v)),
      })),
      initializer: initializers,
      input: g.inputs.map(valueInfoProto),
      output: g.outputs.map(valueInfoProto),
    },
    metadataProps: Object.entries(o.metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
