// `wsss inspect M.onnx`: inputs/outputs with symbolic dims, metadata, op histogram, parameter count.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';

interface InspectArgs {
  model: string;
  json: boolean;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <model>',
  describe: 'Show what an .onnx model holds: inputs, outputs, metadata, ops, parameter count',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'path to an .onnx file' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as one JSON object' })
      .example('$0 inspect model.onnx', 'summarise an exported model') as never,
  handler: async (args) => {
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
