// `wsss serve`: the browser demo and the model over HTTP, plus POST /api/segment on
// onnxruntime-node. Builds the demo first when web-demo/dist is missing or stale (esbuild, about
// a second), so it works straight after `npm ci`.
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.ts';

interface ServeArgs {
  model: string;
  port: number;
  host: string;
  providers: string;
  'max-upload-mb': number;
  variant?: string[];
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Serve the web demo with a model, and a segmentation API (POST /api/segment)',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'exported .onnx model (with wsss metadata)' })
      .option('port', { type: 'number', default: 8080, describe: 'TCP port (0 picks a free one)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (0.0.0.0 for every interface)' })
      .option('providers', { type: 'string', default: 'cuda,cpu', describe: 'onnxruntime-node execution providers for /api/segment, in order' })
      .option('max-upload-mb', { type: 'number', default: 20, describe: 'largest accepted upload to /api/segment, in MiB' })
      .option('variant', { type: 'string', array: true, describe: 'the same model in another precision (from `wsss quantize`); the page picks fp16/fp32/int8 by device' })
      .check((a) => {
        if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new Error('--port must be an integer in [0, 65535]');
        if (!(a['max-upload-mb'] > 0)) throw new Error('--max-upload-mb must be positive');
        return true;
      })
      .example('$0 serve --model runs/start/model.onnx', 'open http://127.0.0.1:8080/ in a browser')
      .example('curl -H "Content-Type: image/png" --data-binary @img.png http://127.0.0.1:8080/api/segment', 'segment on the server') as never,
  handler: async (args) => {
    const { readFile } = await import('node:fs/promises');
    const { openModelFile } = await import('../../runtime/node/open-model-file.ts');
    const { startServer } = await import('../../runtime/node/server/server.ts');
    const { ensureDemoBuilt } = await import('../../web-demo/build.ts');

    let model;
    try {
      model = await openModelFile(args.model, { providers: args.providers.split(',').map((p) => p.trim()).filter(Boolean) });
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const modelBytes = new Uint8Array(await readFile(args.model));
    let variants;
    if (args.variant?.length) {
      const { readServedVariants } = await import('../serve-variants.ts');
      variants = await readServedVariants(args.variant, model.metadata);
    }
    const build = await ensureDemoBuilt();
    if (build.rebuilt) console.log(`built the web demo in ${Math.round(build.ms)} ms`);

    let running;
    try {
      running = await startServer({
        model,
        modelBytes,
        staticRoot: build.dist,
        host: args.host,
        port: args.port,
        maxUploadBytes: Math.round(args['max-upload-mb'] * 1024 * 1024),
        variants,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE') throw new CliError(`port ${args.port} on ${args.host} is in use; pick another with --port`);
      if (err.code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen on ${args.host}: no such local address`);
      throw e;
    }
    const info = model.metadata;
    const fellBack = model.failedProviders.map((f) => `${f.provider}: ${f.error}`).join('; ');
    console.log(`model ${args.model}: ${info.graph} (${info.method}), ${info.classNames.length} classes; /api/segment runs on ${model.provider}${fellBack ? ` (skipped ${fellBack})` : ''}`);
    if (variants) console.log(`precisions served: ${[info.precision, ...Object.keys(variants)].join(', ')} (the page picks one for its device)`);
    console.log(`serving the demo at ${running.url}  (Ctrl+C stops)`);
    const stop = () => {
      void running.close().then(() => model.release()).finally(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await new Promise(() => undefined);
  },
};
