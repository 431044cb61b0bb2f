// `wsss export`: the model of a training run (--run: method, backbone, options and class names
// read from its checkpoint), or a named bare graph (--graph) with a checkpoint or a seeded random
// initialisation; exported to ONNX, optionally verified against the tfjs forward, and only then
// written (atomically): a failed check or a bad checkpoint leaves nothing behind.
import type { CommandModule } from 'yargs';
import type { GraphDef } from '../../graphs/graph.ts';
import type { ParamValues } from '../../graphs/module.ts';
import { CliError } from '../errors.ts';
import { checkPrecisionArgs, parseFp32Ops, PRECISION_OPTIONS } from '../quantize-run.ts';

interface ExportArgs {
  run?: string;
  graph?: string;
  checkpoint?: string;
  'random-init': boolean;
  seed: number;
  out: string;
  verify: boolean;
  'fold-bn': boolean;
  classes?: string;
  width: number;
  tolerance: number;
  outputs?: string;
  'output-stride'?: number;
  precision: 'fp32' | 'fp16' | 'int8';
  calibration?: string;
  'calibration-images': number;
  percentile?: number;
  'fp32-ops'?: string;
  'backbone-weights'?: string;
}

export const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: 'Export a network to ONNX (opset 17, dynamic batch/height/width, wsss metadata)',
  builder: (y) =>
    y
      .option('run', { type: 'string', describe: 'a `wsss train` run directory: exports its model (method, backbone, options, classes from its checkpoint)' })
      .option('graph', { type: 'string', describe: 'a bare graph by name (an unknown name lists the known ones), with --checkpoint or --random-init' })
      .option('checkpoint', { type: 'string', describe: 'safetensors checkpoint with the parameters (alone: a checkpoint that records its method, from wsss train or wsss import-weights --method)' })
      .option('random-init', { type: 'boolean', default: false, describe: 'use a seeded random initialisation instead of a checkpoint' })
      .option('seed', { type: 'number', default: 0, describe: 'seed for --random-init' })
      .option('out', { type: 'string', demandOption: true, describe: 'output .onnx path' })
      .option('verify', { type: 'boolean', default: false, describe: 'compare onnxruntime against the tfjs forward on random inputs; fail above tolerance' })
      .option('tolerance', { type: 'number', default: 1e-4, describe: 'max abs error relative to max(1, output scale) for --verify' })
      .option('fold-bn', { type: 'boolean', default: true, describe: 'fold batch norm into the preceding conv (--no-fold-bn keeps it)' })
      .option('classes', { type: 'string', describe: 'comma-separated class names (background excluded)' })
      .option('width', { type: 'number', default: 1, describe: 'width multiplier of reduced graph variants' })
      .option('outputs', { type: 'string', describe: "backbones: comma-separated outputs to export, e.g. 'logits,layer4' (default: logits and the last stage)" })
      .option('output-stride', { type: 'number', describe: 'ResNet backbones: output stride 32, 16 or 8 (dilated layer3/layer4)' })
      .option('backbone-weights', { type: 'string', describe: 'with --graph and --random-init, cam-resnet50 / cam-mobilenet_v2: torchvision ImageNet weights (.safetensors or .onnx) for the backbone; the CAM head stays random' })
      .option('precision', { choices: ['fp32', 'fp16', 'int8'] as const, default: 'fp32' as const, describe: 'store the model in fp16 or int8 (see `wsss quantize`); --verify checks the float32 export first' })
      .options(PRECISION_OPTIONS)
      .check((a) => {
        checkPrecisionArgs({ precision: a.precision, calibration: a.calibration, calibrationImages: a['calibration-images'], percentile: a.percentile, fp32Ops: parseFp32Ops(a['fp32-ops']) });
        // A CliError reaches the user as a one-line usage error (exit 2), not a stack trace.
        // --checkpoint alone: a method checkpoint that records its network (wsss train, wsss import-weights --method).
        const methodCheckpoint = Boolean(a.checkpoint) && !a.run && !a.graph;
        if (!methodCheckpoint && Boolean(a.run) === Boolean(a.graph)) throw new CliError('give exactly one of --run, --graph, or --checkpoint alone (a checkpoint that records its method)', 2);
        if (methodCheckpoint && (a['random-init'] || a.classes || a.outputs)) throw new CliError('--checkpoint without --graph reads the network and classes from the checkpoint: --random-init, --classes and --outputs go with --graph', 2);
        if (a.run && (a.checkpoint || a['random-init'] || a.classes || a.outputs))
          throw new CliError('--run reads the parameters and classes from the run: --checkpoint, --random-init, --classes and --outputs go with --graph', 2);
        if (a.graph && Boolean(a.checkpoint) === Boolean(a['random-init'])) throw new CliError('give exactly one of --checkpoint and --random-init', 2);
        if (a['backbone-weights'] && !(a.graph && a['random-init'])) throw new CliError('--backbone-weights goes with --graph and --random-init (it fills the backbone; the head is initialised from --seed)', 2);
        return true;
      })
      .example('$0 export --run runs/cam --out runs/cam/model.onnx --verify', 'export a trained run and check it')
      .example('$0 export --graph cam-tiny --random-init --out m.onnx --verify', 'export an untrained model and check it')
      .example('$0 export --checkpoint irn-cam.safetensors --out m.onnx --verify', 'export a method checkpoint (wsss import-weights --method)') as never,
  handler: async (args) => {
    if (args.graph) return exportGraph(args as ExportArgs & { graph: string });
    return exportRecorded(args);
  },
};

/** Export the model of a training run (--run), or of a checkpoint that records its method, backbone and classes (--checkpoint alone). */
async function exportRecorded(args: ExportArgs): Promise<void> {
  const { openRun, openModelCheckpoint } = await import('../../train/run-model.ts');
  let m;
  try {
    m = args.run ? openRun(args.run) : openModelCheckpoint(args.checkpoint!);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  await exportAndWrite(args, m.graph, m.values, m.graph.classNames, m.modelPath);
}

async function exportGraph(args: ExportArgs & { graph: string }): Promise<void> {
  const { getGraph, graphNames, defaultClassNames } = await import('../../graphs/registry.ts');
  const { checkParamValues, initialiseAll } = await import('../../graphs/module.ts');

  if (!graphNames().includes(args.graph)) throw new CliError(`unknown graph '${args.graph}'; known graphs: ${graphNames().join(', ')}`, 2);

  let values;
  let stateClasses: string[] | undefined;
  if (args.checkpoint) {
    const { loadCheckpoint } = await import('../../train/checkpoint.ts');
    let ck;
    try {
      ck = loadCheckpoint(args.checkpoint);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    values = ck.params;
    // A `wsss train` checkpoint records its classes in its configuration.
    const state = ck.state as { classNames?: unknown; config?: { classNames?: unknown } } | null;
    const cn = state?.config?.classNames ?? state?.classNames;
    if (Array.isArray(cn) && cn.every((c) => typeof c === 'string')) stateClasses = cn;
  }
  const classNames = args.classes
    ? args.classes.split(',').map((c) => c.trim()).filter(Boolean)
    : (stateClasses ?? defaultClassNames());
  if (classNames.length === 0) throw new CliError('--classes: no class names given', 2);

  const outputs = args.outputs?.split(',').map((o) => o.trim()).filter(Boolean);
  let graph;
  try {
    graph = getGraph(args.graph, { classNames, width: args.width, outputs, outputStride: args['output-stride'] });
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  // Bare backbones carry no class names (their classifier, if any, is ImageNet's).
  const metaClasses = graph.method === 'backbone' ? graph.classNames : classNames;
  if (values) {
    try {
      checkParamValues(graph.module, values, args.checkpoint!);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
  } else if (args['backbone-weights']) {
    const { imagenetCamValues } = await import('../../export/imagenet-cam.ts');
    try {
      values = imagenetCamValues(graph, args['backbone-weights'], args.seed);
    } catch (e) {
      throw new CliError(`--backbone-weights: ${(e as Error).message}`);
    }
  } else values = initialiseAll(graph.module, args.seed);

  await exportAndWrite(args, graph, values, metaClasses, args.checkpoint ?? `random init (seed ${args.seed})`);
}

/** Export, verify when asked, then write atomically; prints the summary line. */
async function exportAndWrite(args: ExportArgs, graph: GraphDef, values: ParamValues, metaClasses: string[], source: string): Promise<void> {
  const { exportOnnx } = await import('../../export/export-onnx.ts');
  const { writeFileAtomic } = await import('../../runtime/node/files/atomic-write.ts');
  let bytes = exportOnnx(graph, values, { foldBatchNorm: args['fold-bn'], classNames: metaClasses, source });
  let verification;
  if (args.verify) {
    const { verifyExport } = await import('../../export/verify.ts');
    let r;
    try {
      r = await verifyExport(graph, values, bytes, { seed: args.seed });
    } catch (e) {
      throw new CliError(`verification could not run (${(e as Error).message}) — ${args.out} not written`);
    }
    verification = r;
    for (const o of r.outputs) console.log(`verify ${o.name}: max abs err ${o.maxAbsErr.toExponential(2)}, scale ${o.scale.toPrecision(3)}, relative ${o.relErr.toExponential(2)}`);
    if (r.relErr > args.tolerance)
      throw new CliError(`verification failed: relative error ${r.relErr.toExponential(2)} on '${r.worst}' exceeds ${args.tolerance} — ${args.out} not written`);
  }
  let precision;
  if (args.precision !== 'fp32') {
    const { convertPrecision } = await import('../quantize-run.ts');
    const fp32Bytes = bytes.byteLength;
    const r = await convertPrecision(bytes, args.out, { precision: args.precision, calibration: args.calibration, calibrationImages: args['calibration-images'], percentile: args.percentile, fp32Ops: parseFp32Ops(args['fp32-ops']) });
    bytes = r.bytes;
    precision = { ...r.summary, fp32Bytes };
  }
  await writeFileAtomic(args.out, bytes);
  console.log(`wrote ${args.out} (${bytes.byteLength} bytes, graph ${graph.name}, ${metaClasses.length} classes${args['fold-bn'] ? ', batch norm folded' : ''}${args.precision !== 'fp32' ? `, ${args.precision}` : ''})`);
  // Machine-readable tail line (project convention for commands that report figures).
  const summary: Record<string, unknown> = { out: args.out, bytes: bytes.byteLength, graph: graph.name, method: graph.method, ...(precision ? { precision } : {}) };
  if (verification)
    summary.verify = { relErr: verification.relErr, worst: verification.worst, outputs: Object.fromEntries(verification.outputs.map((o) => [o.name, o.relErr])) };
  console.log(JSON.stringify(summary));
}
