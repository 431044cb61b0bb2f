// `wsss import-weights`: turn a pretrained weight file (torchvision / timm / official-repo
// .safetensors, or an .onnx) into a checkpoint for one of our backbones.

import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';

interface Args {
  from: string;
  backbone: string;
  out: string;
  ignore?: string[];
  'strip-prefix'?: string;
}

export const importWeightsCommand: CommandModule<object, Args> = {
  command: 'import-weights',
  describe: 'Import pretrained backbone weights (.safetensors or .onnx) into a checkpoint',
  builder: (y) =>
    y
      .option('from', { type: 'string', demandOption: true, describe: 'weight file: .safetensors (torchvision, timm, official names) or .onnx' })
      .option('backbone', {
        type: 'string',
        demandOption: true,
        describe: 'resnet50 | resnet101 | resnet38d | vgg16 | vgg16d | mobilenet_v2, with optional -w<N>, -os<8|16>, -edam, -fc6dil<N>, -headless',
      })
      .option('out', { type: 'string', demandOption: true, describe: 'checkpoint to write (.safetensors)' })
      .option('ignore', { type: 'string', array: true, describe: "tensors of the file to drop on purpose (glob over the file's names, e.g. 'fc.*')" })
      .option('strip-prefix', { type: 'string', describe: "prefix to remove from the file's names (default: a shared wrapper prefix such as 'module.' is found automatically)" })
      .example('$0 import-weights --from resnet50.safetensors --backbone resnet50 --out ck/resnet50.safetensors', '')
      .example('$0 import-weights --from mobilenet_v2.onnx --backbone mobilenet_v2 --out ck/mbv2.safetensors', ''),
  handler: async (args) => {
    const { importWeights, formatImportReport } = await import('../../export/import-weights.ts');
    const { encodeSafetensors } = await import('../../graphs/safetensors.ts');
    const { writeFileAtomicSync } = await import('../../runtime/node/files/atomic-write.ts');
    if (!args.out.endsWith('.safetensors')) throw new CliError(`--out ${args.out}: the checkpoint must be a .safetensors file`, 2);
    let result;
    try {
      result = importWeights(args.from, { backbone: args.backbone, ignore: args.ignore, stripPrefix: args['strip-prefix'] });
    } catch (e) {
      throw new CliError((e as Error).message, 1);
    }
    const { report, values } = result;
    const lines = formatImportReport(report);
    const summary = {
      ok: report.ok,
      backbone: report.backbone,
      scheme: report.scheme,
      matched: report.matched,
      unfolded: report.unfolded.length,
      ignored: report.ignored.length,
      unmatched: report.unmatched.length,
      missing: report.missing.length,
      mismatched: report.mismatched.length,
      out: report.ok ? args.out : null,
    };
    if (!report.ok || !values) {
      for (const l of lines) console.error(l);
      console.log(JSON.stringify(summary));
      const what = [
        report.missing.length && `${report.missing.length} missing`,
        report.unmatched.length && `${report.unmatched.length} unmatched`,
        report.mismatched.length && `${report.mismatched.length} mis-shaped`,
      ].filter(Boolean);
      throw new CliError(`${args.from}: cannot import into ${args.backbone}: ${what.join(', ')} tensor(s); nothing written (see the list above; --ignore drops tensors on purpose)`, 1);
    }
    for (const l of lines) console.log(l);
    const meta = { format: 'wsss-checkpoint', backbone: args.backbone, imported_from: args.from, naming: report.scheme };
    writeFileAtomicSync(args.out, encodeSafetensors(values, meta));
    console.log(`wrote ${args.out} (${values.size} tensors)`);
    console.log(JSON.stringify(summary));
  },
};
