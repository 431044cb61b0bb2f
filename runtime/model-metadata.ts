// The metadata contract between the exporter and the runtime.
//
// An exported wsss model carries these keys in its ONNX `metadata_props` (string → string).
// The exporter writes them with `MODEL_METADATA_KEYS`; the runtime (node, web demo, batch
// labeller) reads them back with `parseModelMetadata` and configures itself from them, so a
// model is self-describing: class names, normalisation, input convention, output meanings.
//
// Pure TypeScript: no node or browser APIs, so both the exporter and the web bundle import it.

/** Key names in the ONNX model's metadata_props. Values are strings; JSON where noted. */
export const MODEL_METADATA_KEYS = {
  /** Method the model implements, e.g. 'cam', 'vwe', 'edam', 'ppl', '1-stage', 'gradcam'. */
  method: 'method',
  /** Graph name, e.g. 'cam-tiny' (what `wsss export --graph` was given). */
  graph: 'graph',
  /** JSON array of class names WITHOUT background: class i has label i + 1 in label maps (empty for bare backbones). */
  classNames: 'class_names',
  /** JSON array: per-channel mean on [0,1] RGB the graph subtracts internally. Absent when the graph does not normalise. */
  mean: 'mean',
  /** JSON array: per-channel std on [0,1] RGB the graph divides by internally. Absent when the graph does not normalise. */
  std: 'std',
  /** Human-readable input convention, e.g. 'RGB float32 NCHW [0,255]'. */
  inputConvention: 'input_convention',
  /** JSON array of {name, meaning}: the graph outputs in order and what each holds. */
  outputs: 'outputs',
  /** Integer: input size / size of the classifier's feature map. */
  outputStride: 'output_stride',
  /** Optional JSON object {kind, ...parameters}: the rule that turns the outputs into labels (e.g. multiscale-cam with its merge and background threshold). */
  labelRule: 'label_rule',
  /** Integer version of this contract. */
  formatVersion: 'format_version',
  /** Optional: 'fp32' (absent), 'fp16' or 'int8' — how `wsss quantize` stored the weights (inputs/outputs stay float32). */
  precision: 'precision',
  /** Optional JSON: how an int8 model was calibrated ({method, percentile?, images, data}) or an fp16 model's float32 op list. */
  calibration: 'calibration',
} as const;

/** Storage/compute precisions of exported models; every one takes and returns float32. */
export const MODEL_PRECISIONS = ['fp32', 'fp16', 'int8'] as const;
export type ModelPrecision = (typeof MODEL_PRECISIONS)[number];

/** The version of this contract the exporter writes and the runtime understands. */
export const MODEL_FORMAT_VERSION = 1;

/** The input convention of method models: raw RGB values, normalisation happens in the graph. */
export const INPUT_CONVENTION_RGB_0_255 = 'RGB float32 NCHW [0,255]';

/**
 * Output names with a meaning the runtime acts on (other names are carried through untouched).
 * - 'cams':   [N, C, H, W], C = foreground classes, max-normalised per class into [0, 1].
 *             Labels come from argmax over [bgThreshold, cams...] (0 = background).
 * - 'masks':  [N, C+1, H, W] probabilities, channel 0 = background; labels = argmax.
 * - 'logits': [N, C+1, H, W] unnormalised scores, channel 0 = background; labels = argmax.
 * - 'scores': [N, C] image-level class scores (no spatial extent).
 */
export const OUTPUT_NAMES = {
  cams: 'cams',
  masks: 'masks',
  logits: 'logits',
  scores: 'scores',
} as const;

/** Keys without which the runtime cannot configure itself. mean/std are optional by design. */
export const REQUIRED_METADATA_KEYS = [
  MODEL_METADATA_KEYS.method,
  MODEL_METADATA_KEYS.graph,
  MODEL_METADATA_KEYS.classNames,
  MODEL_METADATA_KEYS.inputConvention,
  MODEL_METADATA_KEYS.outputs,
  MODEL_METADATA_KEYS.outputStride,
  MODEL_METADATA_KEYS.formatVersion,
] as const;

export interface ModelOutputInfo {
  name: string;
  meaning: string;
}

export interface ModelInfo {
  method: string;
  graph: string;
  /** Without background. */
  classNames: string[];
  /** Normalisation applied inside the graph (on [0,1] RGB), or null when it applies none. */
  normalisation: { mean: number[]; std: number[] } | null;
  inputConvention: string;
  outputs: ModelOutputInfo[];
  outputStride: number;
  /** The method's label rule ({kind, ...parameters}), or null when the model names none. */
  labelRule: LabelRuleInfo | null;
  formatVersion: number;
  /** 'fp32' unless the model was converted by `wsss quantize` / `wsss export --precision`. */
  precision: ModelPrecision;
}

export interface LabelRuleInfo {
  kind: string;
  [parameter: string]: unknown;
}

/** Fields of ModelInfo an exporter provides; `metadataProps` turns them into key/value strings. */
export type ModelInfoInput = Omit<ModelInfo, 'formatVersion' | 'labelRule' | 'precision'> & { formatVersion?: number; labelRule?: LabelRuleInfo | null };

/** Metadata key/value pairs for an exported model (what the exporter writes into metadata_props). */
export function metadataProps(info: ModelInfoInput): Record<string, string> {
  const k = MODEL_METADATA_KEYS;
  const props: Record<string, string> = {
    [k.method]: info.method,
    [k.graph]: info.graph,
    [k.classNames]: JSON.stringify(info.classNames),
    [k.inputConvention]: info.inputConvention,
    [k.outputs]: JSON.stringify(info.outputs.map((o) => ({ name: o.name, meaning: o.meaning }))),
    [k.outputStride]: String(info.outputStride),
    [k.formatVersion]: String(info.formatVersion ?? MODEL_FORMAT_VERSION),
  };
  if (info.labelRule) props[k.labelRule] = JSON.stringify(info.labelRule);
  if (info.normalisation) {
    props[k.mean] = JSON.stringify(info.normalisation.mean);
    props[k.std] = JSON.stringify(info.normalisation.std);
  }
  return props;
}

/** A model that lacks or has malformed wsss metadata. */
export class ModelMetadataError extends Error {
  override name = 'ModelMetadataError';
}

/**
 * Parses a model's metadata_props into a ModelInfo.
 * `source` names the model (a path or URL) in error messages.
 */
export function parseModelMetadata(record: Readonly<Record<string, string>>, source = 'model'): ModelInfo {
  const k = MODEL_METADATA_KEYS;
  const missing = REQUIRED_METADATA_KEYS.filter((key) => record[key] === undefined);
  if (missing.length) {
    throw new ModelMetadataError(`model ${source} has no wsss metadata: missing ${missing.join(', ')}`);
  }
  const bad = (key: string, why: string): never => {
    throw new ModelMetadataError(`model ${source}: metadata '${key}' ${why} (got ${JSON.stringify(record[key])})`);
  };
  const json = (key: string): unknown => {
    try {
      return JSON.parse(record[key]);
    } catch {
      return bad(key, 'is not valid JSON');
    }
  };
  const integer = (key: string, min: number): number => {
    const v = Number(record[key]);
    if (!Number.isInteger(v) || v < min) bad(key, `must be an integer ≥ ${min}`);
    return v;
  };
  const numberArray = (key: string): number[] => {
    const v = json(key);
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      bad(key, 'must be a JSON array of finite numbers');
    }
    return v as number[];
  };

  const formatVersion = integer(k.formatVersion, 1);
  if (formatVersion > MODEL_FORMAT_VERSION) {
    bad(k.formatVersion, `is newer than this runtime understands (max ${MODEL_FORMAT_VERSION}); update wsss`);
  }

  const classNames = json(k.classNames);
  // Empty for a bare backbone (features, no classifier); label rules then refuse the model.
  if (!Array.isArray(classNames) || !classNames.every((c) => typeof c === 'string')) {
    bad(k.classNames, 'must be a JSON array of strings');
  }

  const outputs = json(k.outputs);
  if (
    !Array.isArray(outputs) ||
    outputs.length === 0 ||
    !outputs.every((o) => o && typeof o === 'object' && typeof o.name === 'string' && typeof o.meaning === 'string')
  ) {
    bad(k.outputs, 'must be a non-empty JSON array of {name, meaning}');
  }

  const hasMean = record[k.mean] !== undefined;
  const hasStd = record[k.std] !== undefined;
  if (hasMean !== hasStd) {
    throw new ModelMetadataError(`model ${source}: metadata has '${hasMean ? k.mean : k.std}' without '${hasMean ? k.std : k.mean}'`);
  }
  let normalisation: ModelInfo['normalisation'] = null;
  if (hasMean) {
    const mean = numberArray(k.mean);
    const std = numberArray(k.std);
    if (mean.length !== std.length) bad(k.std, `must have as many entries as '${k.mean}' (${mean.length})`);
    if (std.some((s) => s <= 0)) bad(k.std, 'must be positive');
    normalisation = { mean, std };
  }

  let labelRule: LabelRuleInfo | null = null;
  if (record[k.labelRule] !== undefined) {
    const r = json(k.labelRule);
    if (!r || typeof r !== 'object' || Array.isArray(r) || typeof (r as LabelRuleInfo).kind !== 'string') bad(k.labelRule, 'must be a JSON object with a string "kind"');
    labelRule = r as LabelRuleInfo;
  }
  const precision = (record[k.precision] ?? 'fp32') as ModelPrecision;
  if (!MODEL_PRECISIONS.includes(precision)) bad(k.precision, `must be one of ${MODEL_PRECISIONS.join(', ')}`);

  return {
    method: record[k.method],
    graph: record[k.graph],
    classNames: classNames as string[],
    normalisation,
    inputConvention: record[k.inputConvention],
    outputs: (outputs as ModelOutputInfo[]).map((o) => ({ name: o.name, meaning: o.meaning })),
    outputStride: integer(k.outputStride, 1),
    labelRule,
    formatVersion,
    precision,
  };
}
