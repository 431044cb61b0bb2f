// `wsss segment`: label map and colour overlay PNGs for image files, with any exported model.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';
import { DEFAULT_CRF_ALPHA } from '../../runtime/crf/cam-crf.ts';
import { crfParamsFromArgs, withCrfOptions, type CrfArgs } from '../crf-options.ts';
import { parseProviders, parseScales } from '../options.ts';

interface Args extends CrfArgs {
  model: string;
  images: string[];
  out: string;
  ep: string;
  'bg-threshold'?: number;
  scales?: string;
  flip: boolean;
  'max-side': number;
  opacity: number;
  threads?: number;
  saliency?: string;
  'crf-alpha': number;
}

export const segmentCommand: CommandModule<object, Args> = {
  command: 'segment <images..>',
  describe: 'Segment image files: <name>.png (palette label map) and <name>.overlay.png (colours over the image)',
  builder: (y) =>
    withCrfOptions(y, "refine the labels with the dense CRF (CAM models: background (1 − max CAM)^α over every class; segmentation models: the CRF on their probabilities)")
      .option('crf-alpha', { type: 'number', default: DEFAULT_CRF_ALPHA, describe: 'CRF on CAM models: background exponent α' })
      .positional('images', { type: 'string', array: true, demandOption: true, describe: 'image files (JPEG, PNG, WebP, GIF, TIFF, AVIF; the format is read from the bytes)' })
      .option('model', { type: 'string', demandOption: true, describe: 'exported model (.onnx with wsss metadata)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
      .option('ep', { type: 'string', default: 'cuda,cpu', describe: 'execution providers in order of preference' })
      .option('bg-threshold', { type: 'number', describe: "CAM models: pixels where no class CAM exceeds it are background (default: the threshold the model's label rule names, e.g. 0.15 for cam, 0.14 for vwe)" })
      .option('scales', { type: 'string', describe: "multi-scale CAMs over these comma-separated scales, e.g. 1,0.5,1.5,2 (CAM models with 'raw_cams'); default: one pass with the model's own label rule" })
      .option('flip', { type: 'boolean', default: true, describe: 'with --scales: also run horizontally flipped views' })
      .option('max-side', { type: 'number', default: 0, describe: 'shrink images so the longer side is at most this many pixels (0 = full size)' })
      .option('opacity', { type: 'number', default: 0.5, describe: 'overlay colour opacity in [0, 1]' })
      .option('saliency', { type: 'string', describe: "folder of saliency maps <image stem>.png (grey 0..255, the image's size): multi-scale CAMs by the model's rule (--scales, default 1,0.5,1.5,2) labelled by EDAM's Algorithm 1 with the model's θ, α, β" })
      .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: all cores)' })
      .example('$0 segment --model runs/start/model.onnx photos/*.jpg --out seg', 'seg/<name>.png and seg/<name>.overlay.png for each photo') as never,
  handler: async (a) => {
    if (!(a.opacity >= 0 && a.opacity <= 1)) throw new CliError(`--opacity must be in [0, 1], got ${a.opacity}`, 2);
    if (!(Number.isInteger(a['max-side']) && a['max-side'] >= 0)) throw new CliError(`--max-side must be a non-negative integer, got ${a['max-side']}`, 2);
    const crfParams = crfParamsFromArgs(a);
    if (crfParams && !(a['crf-alpha'] > 0)) throw new CliError(`--crf-alpha must be a positive number, got ${a['crf-alpha']}`, 2);
    const { runSegment } = await import('../segment-run.ts');
    const summary = await runSegment({
      model: a.model,
      images: a.images.map(String),
      out: a.out,
      providers: parseProviders(a.ep),
      bgThreshold: a['bg-threshold'],
      scales: a.scales === undefined ? undefined : parseScales(a.scales),
      flip: a.flip,
      maxSide: a['max-side'],
      opacity: a.opacity,
      threads: a.threads,
      crf: crfParams ? { params: crfParams, alpha: a['crf-alpha'], threads: a['crf-threads'] } : undefined,
      saliency: a.saliency,
    });
    console.log(`${summary.segmented} segmented, ${summary.failed} failed, into ${summary.out} (${summary.rule || 'no image segmented'}, ${summary.provider})`);
    console.log(JSON.stringify({ ...summary, failures: summary.failures.map((f) => `${f.file}: ${f.reason}`) }));
    if (summary.failed) throw new CliError(`${summary.failed} of ${summary.images} input image(s) failed (listed above)`, 1);
  },
};
