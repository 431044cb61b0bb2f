// `wsss inspect M.onnx`: inputs/outputs with symbolic dims, metadata, op histogram, parameter count.
// `wsss inspect <graph>` (e.g. resnet50): parameters and MACs/FLOPs per stage at --input-size.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';

interface InspectArgs {
  model: string;
  json: boolean;
  'input-size': string;
  'output-stride'?: number;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <model>',
  describe: 'Show what an .onnx model holds (inputs, outputs, metadata, ops, parameters), or a named graph\'s parameters and FLOPs',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'path to an .onnx file, or a graph name (e.g. resnet50)' })
      .option('input-size', { type: 'string', default: '224x224', describe: 'graph names: input height x width for the FLOP count' })
      .option('output-stride', { type: 'number', describe: 'graph names: ResNet output stride (32, 16, 8)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as one JSON object' })
      .example('$0 inspect model.onnx', 'summarise an exported model')
      .example('$0 inspect resnet50 --input-size 321x321 --output-stride 8', 'parameters and FLOPs per stage of a backbone') as never,
  handler: async (args) => {
    if (!args.model.endsWith('.onnx')) {
      const { graphNames } = await import('../../graphs/registry.ts');
      if (graphNames().includes(args.model)) return inspectGraphByName(args);
    }
    const { readFile } = await import('node:fs/promises');
    const { inspectOnnx, formatSummary } = await import('../../export/inspect.ts');
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(args.model));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CliError(`${args.model}: cannot read the model (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`);
    }
    let summary;
    try {
      summary = inspectOnnx(bytes, args.model);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    if (args.json) console.log(JSON.stringify(summary));
    else {
      console.log(formatSummary(summary));
      // Machine-readable tail line (project convention for commands that report figures).
      console.log(JSON.stringify({ file: args.model, sizeBytes: summary.sizeBytes, nodes: summary.nodeCount, parameters: summary.parameterCount }));
    }
  },
};

/** Parameters and FLOPs of a registered graph at a given input size (no file involved). */
async function inspectGraphByName(args: InspectArgs): Promise<void> {
  const { getGraph, defaultClassNames } = await import('../../graphs/registry.ts');
  const { inspectGraph, formatGraphSummary } = await import('../../export/inspect-graph.ts');
  const m = /^(\d+)x(\d+)$/.exec(args['input-size']);
  if (!m) throw new CliError(`--input-size ${args['input-size']}: expected HxW, e.g. 224x224`, 2);
  let summary;
  try {
    const graph = getGraph(args.model, { classNames: defaultClassNames(), outputStride: args['output-stride'] });
    summary = inspectGraph(graph, [Number(m[1]), Number(m[2])]);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  if (args.json) console.log(JSON.stringify(summary));
  else {
    console.log(formatGraphSummary(summary));
    console.log(JSON.stringify({ graph: summary.graph, input: summary.input, parameters: summary.parameters, macs: summary.macs, flops: summary.flops }));
  }
}
