// `wsss eval`: mIoU of predicted label maps and/or a background-threshold sweep over CAMs,
// against ground-truth masks; a table on stdout, optional JSON and HTML report, and the JSON
// figures as the last line of stdout.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';

interface EvalArgs {
  gt: string;
  pred?: string;
  'pred-crf'?: string;
  cams?: string;
  list?: string;
  thresholds: string;
  json?: string;
  html?: string;
  classes?: string;
  'cam-gating': 'labels' | 'none';
  images?: string;
  examples: number;
  strict: boolean;
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Score predicted label maps (mIoU, per-class IoU/precision/recall) and CAMs (background-threshold sweep)',
  builder: (y) =>
    y
      .option('gt', { type: 'string', demandOption: true, describe: 'ground truth: a VOC-layout data set root or a folder of label PNGs' })
      .option('pred', { type: 'string', describe: 'folder of predicted label PNGs (<id>.png)' })
      .option('pred-crf', { type: 'string', describe: 'folder of the same predictions refined by the dense CRF (wsss pseudo-label/refine/segment --crf): scored alike and shown beside --pred as a with/without-CRF column' })
      .option('cams', { type: 'string', describe: 'folder of CAM .npy files (<id>.npy): [K,H,W] per foreground class, or the reference repos\' dicts' })
      .option('list', { type: 'string', describe: 'image-id list (default: every file in --pred, else --cams)' })
      .option('thresholds', { type: 'string', default: '0.05:0.95:0.05', describe: 'CAM background thresholds: start:stop:step or a,b,c' })
      .option('json', { type: 'string', describe: 'write the figures as JSON here' })
      .option('html', { type: 'string', describe: 'write a self-contained HTML report here' })
      .option('classes', { type: 'string', describe: 'foreground class names, comma-separated (default: the data set\'s, else VOC\'s 20)' })
      .option('cam-gating', { choices: ['labels', 'none'] as const, default: 'labels' as const, describe: 'CAM channels used: the image\'s classes (as the papers evaluate) or all' })
      .option('images', { type: 'string', describe: 'image folder for the report\'s examples (default: the data set\'s JPEGImages)' })
      .option('examples', { type: 'number', default: 6, describe: 'example rows in the HTML report' })
      .option('strict', { type: 'boolean', default: false, describe: 'exit with status 1 when any file had a problem' }),
  handler: async (a) => {
    if (!a.pred && !a.cams) throw new CliError('give --pred, --cams, or both', 2);
    if (a['pred-crf'] && !a.pred) throw new CliError('--pred-crf is compared with --pred: give both', 2);
    const { evaluateDataset, evalResultJson, locateGroundTruth } = await import('../../runtime/node/eval/evaluate-dataset.ts');
    const { parseThresholds } = await import('../../runtime/metrics/cam-threshold-sweep.ts');
    const { writeFileAtomic } = await import('../../runtime/node/files/atomic-write.ts');
    let thresholds: number[];
    try {
      thresholds = parseThresholds(a.thresholds);
    } catch (e) {
      throw new CliError(`--thresholds: ${(e as Error).message}`, 2);
    }
    const classNames = a.classes ? a.classes.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    let result;
    try {
      result = await evaluateDataset({ gt: a.gt, pred: a.pred, cams: a.cams, list: a.list, classNames, thresholds, camGating: a['cam-gating'], images: a.images });
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    let examples: import('../../runtime/node/eval/report-html.ts').ReportExample[] = [];
    if (a.html) {
      const { prepareExamples } = await import('../../runtime/node/eval/report-html.ts');
      const gt = locateGroundTruth(a.gt, classNames);
      const prepared = await prepareExamples(result, { pred: a.pred, cams: a.cams, camGating: a['cam-gating'], imageLabels: gt.imageLabels, examples: a.examples });
      examples = prepared.examples;
      result.issues.push(...prepared.issues);
    }
    let withCrf: Awaited<ReturnType<typeof evaluateDataset>> | null = null;
    if (a['pred-crf']) {
      try {
        // the same images as --pred (its list, else its files), so the two columns compare like with like
        withCrf = await evaluateDataset({ gt: a.gt, pred: a['pred-crf'], list: a.list, idsFrom: a.pred, classNames, thresholds, camGating: a['cam-gating'] });
      } catch (e) {
        throw new CliError(`--pred-crf: ${(e as Error).message}`);
      }
      result.issues.push(...withCrf.issues.map((i) => ({ ...i, reason: `${i.reason} (--pred-crf)` })));
    }
    const crfScores = withCrf?.pred?.scores ?? null;
    const json = { ...evalResultJson(result), ...(withCrf && crfScores ? { crf: { miou: crfScores.miou, pixel_accuracy: crfScores.pixelAccuracy, images: withCrf.pred!.images, per_class_iou: crfScores.perClass.map((p) => p.iou), miou_gain: result.pred ? crfScores.miou - result.pred.scores.miou : null } } : {}) };

    // Table.
    const main = result.pred?.scores ?? result.cams?.best.scores;
    const f = (v: number | null) => (v === null || Number.isNaN(v) ? '     –' : v.toFixed(4).padStart(6));
    const w = Math.max(12, ...result.classNames.map((s) => s.length)) + 2;
    const lines: string[] = [];
    if (main) {
      lines.push(`${'class'.padEnd(w)}   IoU    prec  recall      GT px    pred px${crfScores ? '  IoU+CRF' : ''}${result.pred && result.cams ? `  CAM IoU@${result.cams.best.threshold}` : ''}`);
      result.classNames.forEach((name, c) => {
        const p = main.perClass[c];
        const camIou = result.pred && result.cams ? `  ${f(result.cams.best.scores.perClass[c].iou)}` : '';
        const crfIou = crfScores ? `   ${f(crfScores.perClass[c].iou)}` : '';
        lines.push(`${name.padEnd(w)}${f(p.iou)}  ${f(p.precision)}  ${f(p.recall)}  ${String(p.gtPixels).padStart(9)}  ${String(p.predPixels).padStart(9)}${crfIou}${camIou}`);
      });
      const what = result.pred ? `predictions (${result.pred.images} images)` : `CAMs at threshold ${result.cams!.best.threshold} (${result.cams!.images} images)`;
      lines.push(`${what}: mIoU ${main.miou.toFixed(4)} (classes in GT or prediction), ${main.miouAllClasses.toFixed(4)} (all classes), ${main.miouGtClasses.toFixed(4)} (GT classes); pixel accuracy ${main.pixelAccuracy.toFixed(4)}`);
    }
    if (crfScores && result.pred) lines.push(`with the dense CRF (${a['pred-crf']}, ${withCrf!.pred!.images} images): mIoU ${crfScores.miou.toFixed(4)} (${crfScores.miou >= result.pred.scores.miou ? '+' : ''}${(crfScores.miou - result.pred.scores.miou).toFixed(4)}); pixel accuracy ${crfScores.pixelAccuracy.toFixed(4)}`);
    if (result.cams) {
      const c = result.cams;
      lines.push(`CAM sweep: ${c.sweep.map((s) => `${s.threshold}:${s.scores.miou.toFixed(3)}`).join(' ')}`);
      lines.push(`CAM best threshold ${c.best.threshold}: mIoU ${c.best.scores.miou.toFixed(4)} (${c.images} images)`);
    }
    console.log(lines.join('\n'));
    for (const i of result.issues) console.error(`wsss eval: ${i.file}: ${i.reason} (${i.id}: ${i.effect})`);
    if (result.issues.length) console.error(`wsss eval: ${result.issues.length} problem(s); the other images were evaluated`);

    if (a.json) await writeFileAtomic(a.json, JSON.stringify(json, null, 1) + '\n');
    if (a.html) {
      const { renderReportHtml } = await import('../../runtime/node/eval/report-html.ts');
      const cmd = ['wsss eval', ...process.argv.slice(3)].join(' ');
      await writeFileAtomic(a.html, renderReportHtml(result, examples, { command: cmd }));
    }
    console.log(JSON.stringify(json));
    if (!main) throw new CliError('no image could be evaluated (see the problems above)');
    if (a.strict && result.issues.length) throw new CliError(`${result.issues.length} problem(s) with the input files (--strict)`);
  },
};
