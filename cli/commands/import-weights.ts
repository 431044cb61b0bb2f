// `wsss import-weights`: turn a pretrained weight file (a PyTorch checkpoint .pth/.pt read
// without Python, a torchvision / timm / official-repo .safetensors, or an .onnx) into a
// checkpoint for one of our backbones — or, with --method, for a whole method network from
// the official repos' checkpoint layouts (IRNet's and psa's CAM networks, …), ready for
// `wsss export --checkpoint CK` (or `--run DIR` when --out is a directory).

import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';

interface Args {
  from: string;
  backbone: string;
  method?: string;
  classes?: string;
  out: string;
  ignore?: string[];
  'strip-prefix'?: string;
}

export const importWeightsCommand: CommandModule<object, Args> = {
  command: 'import-weights',
  describe: 'Import pretrained weights (.pth/.pt, .safetensors or .onnx) into a checkpoint: a backbone, or a whole method network (--method)',
  builder: (y) =>
    y
      .option('from', { type: 'string', demandOption: true, describe: 'weight file: a PyTorch checkpoint (.pth/.pt: torch.save zip or legacy format; a state dict, or a dict holding it under state_dict/model), .safetensors or .onnx' })
      .option('backbone', {
        type: 'string',
        demandOption: true,
        describe: 'resnet50 | resnet101 | resnet38d | vgg16 | vgg16d | mobilenet_v2, with optional -w<N>, -os<8|16>, -nodil, -edam, -fc6dil<N>, -headless',
      })
      .option('method', { type: 'string', describe: "import a whole method network (e.g. 'cam': IRNet's resnet50_cam, psa's resnet38_cls layouts) instead of a bare backbone" })
      .option('classes', { type: 'string', describe: 'with --method: comma-separated class names, background excluded (default: the 20 PASCAL VOC classes)' })
      .option('out', { type: 'string', demandOption: true, describe: 'checkpoint to write (.safetensors); with --method also a directory, written as a run for `wsss export --run`' })
      .option('ignore', { type: 'string', array: true, describe: "tensors of the file to drop on purpose (glob over the file's names, e.g. 'fc.*')" })
      .option('strip-prefix', { type: 'string', describe: "prefix to remove from the file's names (default: a shared wrapper prefix such as 'module.' is found automatically)" })
      .example('$0 import-weights --from resnet50.pth --backbone resnet50 --out ck/resnet50.safetensors', 'torchvision weights, no Python needed')
      .example('$0 import-weights --from res50_cam.pth --method cam --backbone resnet50-nodil --out runs/irn-cam', "IRNet's CAM network, then `wsss export --run runs/irn-cam`")
      .example('$0 import-weights --from mobilenet_v2.onnx --backbone mobilenet_v2 --out ck/mbv2.safetensors', ''),
  handler: async (args) => {
    const { importWeights, formatImportReport } = await import('../../export/import-weights.ts');
    const { encodeSafetensors } = await import('../../graphs/safetensors.ts');
    const { writeFileAtomicSync } = await import('../../runtime/node/files/atomic-write.ts');
    const asRun = Boolean(args.method) && !args.out.endsWith('.safetensors');
    if (!args.method && !args.out.endsWith('.safetensors')) throw new CliError(`--out ${args.out}: the checkpoint must be a .safetensors file`, 2);
    if (args.classes !== undefined && !args.method) throw new CliError('--classes goes with --method (a bare backbone keeps its own classifier)', 2);
    let classNames: string[] | undefined;
    if (args.method) {
      const { VOC_CLASS_NAMES } = await import('../../runtime/voc-palette.ts');
      classNames = args.classes !== undefined ? args.classes.split(',').map((c) => c.trim()).filter(Boolean) : [...VOC_CLASS_NAMES];
      if (classNames.length === 0) throw new CliError('--classes: no class names given', 2);
    }
    let result;
    try {
      result = importWeights(args.from, { backbone: args.backbone, method: args.method, classNames, ignore: args.ignore, stripPrefix: args['strip-prefix'] });
    } catch (e) {
      throw new CliError((e as Error).message, 1);
    }
    const { report, values } = result;
    const lines = formatImportReport(report);
    const summary = {
      ok: report.ok,
      backbone: args.backbone,
      method: args.method ?? null,
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
      // The usual cause of a mis-shaped classifier: a different number of classes.
      const head = report.mismatched.find((m) => /(^|\.)head\./.test(m.name) && m.got.length > 0);
      if (head && classNames && head.got[0] !== classNames.length)
        console.error(`the file's classifier '${head.from}' has ${head.got[0]} classes, --classes gives ${classNames.length}: give --classes with ${head.got[0]} names`);
      console.log(JSON.stringify(summary));
      const what = [
        report.missing.length && `${report.missing.length} missing`,
        report.unmatched.length && `${report.unmatched.length} unmatched`,
        report.mismatched.length && `${report.mismatched.length} mis-shaped`,
      ].filter(Boolean);
      throw new CliError(`${args.from}: cannot import into ${report.backbone}: ${what.join(', ')} tensor(s); nothing written (see the list above; --ignore drops tensors on purpose)`, 1);
    }
    for (const l of lines) console.log(l);
    if (args.method) {
      // A method checkpoint records what it is, as `wsss train` does, so `wsss export` rebuilds the network from it alone.
      const { saveCheckpoint } = await import('../../train/checkpoint.ts');
      const { CHECKPOINT_FILE, MODEL_FILE } = await import('../../train/train-loop.ts');
      const { mkdirSync } = await import('node:fs');
      const state = {
        step: 0,
        seed: 0,
        config: { method: args.method, backbone: args.backbone, options: {}, classNames: classNames!, imported_from: args.from, naming: report.scheme },
      };
      const ck = { params: values, optimizer: new Map(), state };
      if (asRun) {
        mkdirSync(args.out, { recursive: true });
        // The model last: a run with model.safetensors is complete.
        saveCheckpoint(join(args.out, CHECKPOINT_FILE), ck);
        saveCheckpoint(join(args.out, MODEL_FILE), ck);
        console.log(`wrote run ${args.out} (${values.size} tensors): \`wsss export --run ${args.out} --out model.onnx\``);
      } else {
        saveCheckpoint(args.out, ck);
        console.log(`wrote ${args.out} (${values.size} tensors): \`wsss export --checkpoint ${args.out} --out model.onnx\``);
      }
    } else {
      const meta = { format: 'wsss-checkpoint', backbone: args.backbone, imported_from: args.from, naming: report.scheme };
      writeFileAtomicSync(args.out, encodeSafetensors(values, meta));
      console.log(`wrote ${args.out} (${values.size} tensors)`);
    }
    console.log(JSON.stringify(summary));
  },
};
