// Import pretrained weights from a PyTorch-world file — a torch.save checkpoint (.pth/.pt,
// read without Python: export/torch-weights.ts), a .safetensors (torchvision, timm,
// official-repo or MXNet naming) or an .onnx whose initializers hold them — into one of our
// backbones, or into a whole method network (`--method`: the official repos' key layouts of
// that method, e.g. IRNet's and psa's CAM networks, through the method's name maps).
//
// Every tensor of the file is accounted for: matched onto one of our parameters (names mapped,
// shapes checked), ignored on purpose (BN step counters, a classifier the official converters
// drop too), or reported as unmatched. Missing parameters, unmatched tensors and shape
// mismatches make the import fail — the official repos load with strict=False, which silently
// leaves random weights behind a wrong prefix. Batch norms an exporter folded into the
// preceding conv come back as identity-statistics batch norms carrying the folded bias.

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { backboneGraph, createBackbone, parseBackboneName } from '../graphs/backbones/index.ts';
import { commonPrefix, namingSchemes, type MappedName, type NamingScheme } from '../graphs/backbones/name-maps.ts';
import type { GraphDef } from '../graphs/graph.ts';
import { resolveOptions, type MethodModel } from '../graphs/methods/method.ts';
import { getMethod } from '../graphs/methods/registry.ts';
import { globToRegExp, numel, type NamedTensor, type ParamValues } from '../graphs/module.ts';
import { decodeSafetensors } from '../graphs/safetensors.ts';
import { traceOnnx } from './export-onnx.ts';
import { readOnnxWeights, type ReferenceOrder } from './onnx-weights.ts';
import { looksLikeTorchCheckpoint, readTorchCheckpoint } from './torch-weights.ts';

export interface ImportOptions {
  /** Backbone name as `createBackbone` takes it (e.g. 'resnet50', 'resnet38d-w16'); with `method`, a FEATURE_BACKBONES name. */
  backbone: string;
  /** Import a whole method network (graphs/methods) instead of a bare backbone. */
  method?: string;
  /** With `method`: the class names (their count must match the file's classifier). */
  classNames?: string[];
  /** With `method`: its options (defaults otherwise). */
  methodOptions?: Record<string, unknown>;
  /** Source tensors to drop on purpose (globs over the file's names, '*' within a part, '**' across). */
  ignore?: string[];
  /** Prefix to strip from every source name ('module.'); by default a shared wrapper prefix is found automatically. */
  stripPrefix?: string;
}

export interface ImportReport {
  source: string;
  backbone: string;
  /** Naming scheme that explained the file ('torchvision / official', 'timm', …). */
  scheme: string;
  /** Prefix removed from the file's names, if any. */
  strippedPrefix: string | null;
  /** How ONNX tensor names were recovered (empty for safetensors). */
  notes: string[];
  matched: number;
  /** Tensors whose layout was converted (reshaped, e.g. timm's conv classifier onto a Linear). */
  converted: string[];
  /** Batch norms rebuilt from a conv bias (the exporter folded them). */
  unfolded: string[];
  ignored: { name: string; why: string }[];
  /** In the file but not used. */
  unmatched: string[];
  /** Needed but not in the file. */
  missing: { name: string; shape: number[] }[];
  mismatched: { name: string; from: string; expected: number[]; got: number[] }[];
  ok: boolean;
}

export interface ImportResult {
  report: ImportReport;
  /** Every parameter of the backbone (or method network), PyTorch layouts; null when the import failed. */
  values: ParamValues | null;
  /** With `method`: the network the values belong to. */
  model?: MethodModel;
}

/** Conv → following batch norm, and the forward order of convs / batch norms, from a trace of the network. */
function networkStructure(graph: GraphDef): { foldInto: Map<string, string>; order: ReferenceOrder } {
  const g = traceOnnx(graph);
  const paramOf = (value: string | undefined) => (value ? g.initializers.get(value)?.param : undefined);
  const moduleOf = (param: string | undefined) => param?.replace(/\.[^.]+$/, '');
  const producer = new Map<string, string>();
  const foldInto = new Map<string, string>();
  const order: ReferenceOrder = { convs: [], batchNorms: [] };
  for (const n of g.nodes) {
    if (n.opType === 'Conv') {
      const conv = moduleOf(paramOf(n.inputs[1]));
      if (conv) {
        order.convs.push(conv);
        producer.set(n.outputs[0], conv);
      }
    } else if (n.opType === 'BatchNormalization') {
      const bn = moduleOf(paramOf(n.inputs[1]));
      if (bn) {
        order.batchNorms.push(bn);
        const conv = producer.get(n.inputs[0]);
        if (conv) foldInto.set(conv, bn);
      }
    }
  }
  return { foldInto, order };
}

/** File extensions PyTorch checkpoints commonly carry. */
const TORCH_EXTENSIONS = new Set(['.pth', '.pt', '.ckpt', '.bin', '.tar', '.pkl']);

/** Read a weight file into tensors named as the file names them. */
function readSource(path: string, bytes: Uint8Array, order: ReferenceOrder): { tensors: ParamValues; notes: string[] } {
  const ext = extname(path).toLowerCase();
  if (ext === '.safetensors') return { tensors: decodeSafetensors(bytes, path).tensors, notes: [] };
  if (ext === '.onnx') {
    const r = readOnnxWeights(bytes, path, order);
    return { tensors: r.tensors, notes: r.notes.map((n) => `onnx: ${n}`) };
  }
  if (TORCH_EXTENSIONS.has(ext) || looksLikeTorchCheckpoint(bytes)) {
    const ck = readTorchCheckpoint(bytes, path);
    const notes = [`torch.save ${ck.format === 'zip' ? 'zip' : 'legacy (pre-1.6, _use_new_zipfile_serialization=False)'} format${ck.wrapper ? `, state dict under '${ck.wrapper}'` : ''}`];
    const dtypes = [...new Set(ck.dtypes.values())].filter((d) => d !== 'float32');
    if (dtypes.length) notes.push(`converted to float32 from ${dtypes.join(', ')}`);
    if (ck.skipped.length) notes.push(`entries that are not tensors skipped: ${ck.skipped.join(', ')}`);
    return { tensors: ck.tensors, notes };
  }
  throw new Error(`${path}: unsupported weight file type '${ext || '(none)'}'; give a PyTorch checkpoint (.pth, .pt), a .safetensors or an .onnx file`);
}

/** What an import fills: its parameters, the name maps to try, and the network's structure. */
interface ImportTarget {
  label: string;
  expected: Map<string, readonly number[]>;
  schemes: NamingScheme[];
  graph: GraphDef;
  /** Our parameter names whose tensors in the file are dropped on purpose (a headless backbone's classifier). */
  droppedHead: Set<string>;
  model?: MethodModel;
}

function backboneTarget(backbone: string): ImportTarget {
  parseBackboneName(backbone); // unknown names fail before the file is read
  const net = createBackbone(backbone);
  const expected = new Map(net.parameters().map((p) => [p.name, p.shape] as const));
  // A '-headless' backbone asked for the features only: the file's classifier is dropped on purpose.
  const droppedHead = new Set<string>();
  if (/-headless(-|$)/.test(backbone))
    for (const p of createBackbone(backbone.replace(/-headless(?=-|$)/, '')).parameters()) if (!expected.has(p.name)) droppedHead.add(p.name);
  return {
    label: backbone,
    expected,
    schemes: namingSchemes(parseBackboneName(backbone).arch),
    graph: backboneGraph(backbone, { outputs: net.stages.map((s) => s.name) }),
    droppedHead,
  };
}

function methodTarget(method: string, opts: ImportOptions): ImportTarget {
  const def = getMethod(method);
  if (!def.namingSchemes) throw new Error(`method ${method} has no name maps for official checkpoints yet (methods with them: see \`wsss import-weights --help\`)`);
  const model = def.build({ backbone: opts.backbone, classNames: opts.classNames ?? [], options: resolveOptions(def, opts.methodOptions ?? {}) });
  return {
    label: `${method} on ${opts.backbone}`,
    expected: new Map(model.module.parameters().map((p) => [p.name, p.shape] as const)),
    schemes: def.namingSchemes(opts.backbone),
    graph: model.graph,
    droppedHead: new Set(),
    model,
  };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Map, check and complete the tensors of a weight file for a backbone. Pure apart from reading `path` when `bytes` is not given. */
export function importWeights(path: string, opts: ImportOptions, bytes?: Uint8Array): ImportResult {
  const target = opts.method ? methodTarget(opts.method, opts) : backboneTarget(opts.backbone);
  const { expected, droppedHead } = target;
  const { foldInto, order } = networkStructure(target.graph);
  let data: Uint8Array;
  try {
    data = bytes ?? readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const { tensors: raw, notes } = readSource(path, data, order);
  if (raw.size === 0) throw new Error(`${path}: holds no float tensors`);

  // Choose the naming scheme (and wrapper prefix) that explains the most tensors.
  const schemes = target.schemes;
  const names = [...raw.keys()];
  const prefixes: (string | null)[] = opts.stripPrefix !== undefined ? [opts.stripPrefix || null] : [null, commonPrefix(names)].filter((p, i) => i === 0 || p);
  let best: { scheme: NamingScheme; prefix: string | null; hits: number } | null = null;
  for (const prefix of prefixes)
    for (const scheme of schemes) {
      let hits = 0;
      for (const n of names) {
        const m = scheme.map(prefix && n.startsWith(prefix) ? n.slice(prefix.length) : n);
        if (m && 'to' in m && expected.has(m.to)) hits++;
      }
      if (!best || hits > best.hits) best = { scheme, prefix, hits };
    }
  const { scheme, prefix } = best!;
  const ignoreRes = (opts.ignore ?? []).map(globToRegExp);

  const report: ImportReport = {
    source: path,
    backbone: target.label,
    scheme: scheme.name,
    strippedPrefix: prefix,
    notes,
    matched: 0,
    converted: [],
    unfolded: [],
    ignored: [],
    unmatched: [],
    missing: [],
    mismatched: [],
    ok: false,
  };
  const values: ParamValues = new Map();
  const from = new Map<string, string>();
  const convBiases = new Map<string, { source: string; t: NamedTensor }>();
  for (const [name, t] of raw) {
    if (ignoreRes.some((re) => re.test(name))) {
      report.ignored.push({ name, why: '--ignore' });
      continue;
    }
    if (prefix && !name.startsWith(prefix)) {
      report.unmatched.push(name);
      continue;
    }
    const m: MappedName = scheme.map(prefix ? name.slice(prefix.length) : name);
    if (m && 'ignore' in m) {
      report.ignored.push({ name, why: m.ignore });
      continue;
    }
    if (m && droppedHead.has(m.to)) {
      report.ignored.push({ name, why: 'classifier (the backbone is headless)' });
      continue;
    }
    if (!m || !expected.has(m.to)) {
      // A conv bias where the network has a batch norm after a bias-free conv: a folded BN.
      const conv = m?.to.endsWith('.bias') ? m.to.slice(0, -'.bias'.length) : null;
      if (conv && foldInto.has(conv) && expected.has(`${conv}.weight`)) convBiases.set(conv, { source: name, t });
      else report.unmatched.push(name);
      continue;
    }
    if (from.has(m.to)) {
      report.unmatched.push(name);
      continue;
    }
    const want = expected.get(m.to)!;
    if (!sameShape(t.shape, want)) {
      if (m.reshape && numel(t.shape) === numel(want)) report.converted.push(`${name} [${t.shape.join(', ')}] → ${m.to} [${want.join(', ')}]`);
      else {
        report.mismatched.push({ name: m.to, from: name, expected: [...want], got: [...t.shape] });
        continue;
      }
    }
    values.set(m.to, { shape: [...want], data: t.data });
    from.set(m.to, name);
    report.matched++;
  }

  // Rebuild folded batch norms: y = W'∗x + b' equals BN(W'∗x) with γ = 1, β = b', μ = 0, σ² + ε = 1.
  for (const [conv, { source, t }] of convBiases) {
    const bn = foldInto.get(conv)!;
    const fields = ['weight', 'bias', 'running_mean', 'running_var'].map((f) => `${bn}.${f}`);
    const channels = expected.get(`${conv}.weight`)![0];
    if (fields.some((f) => values.has(f)) || t.shape.length !== 1 || t.shape[0] !== channels) {
      report.unmatched.push(source);
      continue;
    }
    const eps = 1e-5;
    values.set(fields[0], { shape: [channels], data: new Float32Array(channels).fill(1) });
    values.set(fields[1], { shape: [channels], data: Float32Array.from(t.data) });
    values.set(fields[2], { shape: [channels], data: new Float32Array(channels) });
    values.set(fields[3], { shape: [channels], data: new Float32Array(channels).fill(1 - eps) });
    report.unfolded.push(`${bn} (from ${source})`);
  }

  for (const [name, shape] of expected) if (!values.has(name)) report.missing.push({ name, shape: [...shape] });
  report.ok = report.missing.length === 0 && report.unmatched.length === 0 && report.mismatched.length === 0;
  if (!report.ok) return { report, values: null };
  // Declaration order, so the checkpoint lists tensors as the network does.
  const ordered: ParamValues = new Map();
  for (const name of expected.keys()) ordered.set(name, values.get(name)!);
  return { report, values: ordered, model: target.model };
}

/** The report as text lines (long lists shortened), for the CLI. */
export function formatImportReport(r: ImportReport, maxList = 20): string[] {
  const lines: string[] = [];
  const list = (title: string, items: string[]) => {
    if (!items.length) return;
    lines.push(`${title} (${items.length}):`);
    for (const it of items.slice(0, maxList)) lines.push(`  ${it}`);
    if (items.length > maxList) lines.push(`  … and ${items.length - maxList} more`);
  };
  lines.push(`${r.source} → ${r.backbone}: naming '${r.scheme}'${r.strippedPrefix ? `, prefix '${r.strippedPrefix}' stripped` : ''}; ${r.matched} tensor(s) matched`);
  for (const n of r.notes) lines.push(`  ${n}`);
  if (r.matched === 0 && r.unmatched.length)
    lines.push(`no tensor of the file matched a parameter of ${r.backbone}: is it a weight file for another architecture (or wrapped under a prefix; see --strip-prefix)?`);
  list('converted layout', r.converted);
  list('batch norms rebuilt from folded conv biases (identity statistics; fine for inference and frozen-BN training)', r.unfolded);
  list('ignored', r.ignored.map((i) => `${i.name}: ${i.why}`));
  list('unmatched tensors in the file', r.unmatched);
  list('missing tensors', r.missing.map((m) => `${m.name} [${m.shape.join(', ')}]`));
  list('shape mismatches', r.mismatched.map((m) => `${m.name}: expected [${m.expected.join(', ')}], file has [${m.got.join(', ')}]${m.from !== m.name ? ` (as '${m.from}')` : ''}`));
  return lines;
}
