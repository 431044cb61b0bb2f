// `wsss quantize IN.onnx --out OUT.onnx --precision fp16|int8`: converts an exported float32
// model; the result keeps float32 inputs/outputs and its metadata, plus the precision and how
// int8 was calibrated. Written atomically, only after the conversion succeeded.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import { checkPrecisionArgs, convertPrecision, parseFp32Ops, PRECISION_OPTIONS } from '../quantize-run.ts';

interface QuantizeArgs {
  model: string;
  out: string;
  precision: 'fp16' | 'int8';
  calibration?: string;
  'calibration-images': number;
  percentile?: number;
  'fp32-ops'?: string;
}

export const quantizeCommand: CommandModule<object, QuantizeArgs> = {
  command: 'quantize <model>',
  describe: 'Convert an exported float32 model to fp16 or static int8 (QDQ, calibrated on images)',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'float32 .onnx exported by wsss' })
      .option('out', { type: 'string', demandOption: true, describe: 'output .onnx path' })
      .option('precision', { choices: ['fp16', 'int8'] as const, demandOption: true, describe: 'fp16: weights and compute in float16; int8: int8 weights per output channel, uint8 activations' })
      .options(PRECISION_OPTIONS)
      .check((a) => {
        checkPrecisionArgs({ precision: a.precision, calibration: a.calibration, calibrationImages: a['calibration-images'], percentile: a.percentile, fp32Ops: parseFp32Ops(a['fp32-ops']) });
        return true;
      })
      .example('$0 quantize runs/cam/model.onnx --out model-fp16.onnx --precision fp16', '')
      .example('$0 quantize runs/cam/model.onnx --out model-int8.onnx --precision int8 --calibration data/synth-small --calibration-images 64', '') as never,
  handler: async (args) => {
    const { readFile } = await import('node:fs/promises');
    const { writeFileAtomic } = await import('../../runtime/node/files/atomic-write.ts');
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(args.model));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CliError(`${args.model}: cannot read the model (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message})`);
    }
    const r = await convertPrecision(bytes, args.model, {
      precision: args.precision,
      calibration: args.calibration,
      calibrationImages: args['calibration-images'],
      percentile: args.percentile,
      fp32Ops: parseFp32Ops(args['fp32-ops']),
    });
    await writeFileAtomic(args.out, r.bytes);
    console.log(`wrote ${args.out} (${r.bytes.byteLength} bytes, ${args.precision}; float32 input: ${bytes.byteLength} bytes, ratio ${(r.bytes.byteLength / bytes.byteLength).toFixed(3)})`);
    console.log(JSON.stringify({ out: args.out, bytes: r.bytes.byteLength, inputBytes: bytes.byteLength, sizeRatio: r.bytes.byteLength / bytes.byteLength, ...r.summary }));
  },
};
