// The HTTP server behind `wsss serve`: the built web demo, the model file, and POST /api/segment
// (onnxruntime-node) for clients that can run neither WebGPU nor wasm.
//
// Every response carries the cross-origin-isolation headers (COOP same-origin, COEP
// require-corp) that let the page's wasm use threads (SharedArrayBuffer). Static paths are
// checked before any file is touched: undecodable, NUL- or backslash-bearing paths and any
// '..' segment (raw or percent-encoded) are refused, and the resolved real path must stay inside
// the served directory (no escape through symlinks either).

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, sep } from 'node:path';
import { MAX_CLASSES } from '../../postprocess.ts';
import type { OpenModel } from '../../session.ts';
import { labelCounts } from '../../postprocess.ts';
import { encodeIndexedPng } from '../files/palette-png.ts';
import type { ModelPrecision } from '../../model-metadata.ts';
import { ImageDecodeError, segmentImageBytes } from './segment-image.ts';

export interface ServerOptions {
  /** The opened model /api/segment runs and whose file /model.onnx serves. */
  model: OpenModel;
  /** Bytes of the model file (served to the page as /model.onnx). */
  modelBytes: Uint8Array;
  /** The built web demo (web-demo/dist). */
  staticRoot: string;
  /** Largest accepted upload in bytes (default 20 MiB). */
  maxUploadBytes?: number;
  /** Uploads waiting or running at once before the server answers 503 (default 64). */
  maxPending?: number;
  /** Default longest side an uploaded image is shrunk to (default 1024; per request: ?maxSide=). */
  maxSide?: number;
  /**
   * The same model in other precisions (`wsss quantize`), served as /model-<precision>.onnx and
   * listed by /api/model so the page can pick one for its device (runtime/web/choose-precision.ts).
   */
  variants?: Partial<Record<ModelPrecision, Uint8Array>>;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** Image types sharp decodes. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/jpg', 'image/webp', 'image/gif', 'image/tiff', 'image/avif', 'image/heic', 'image/heif']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function isolationHeaders(res: ServerResponse): void {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: message, status });
}

/**
 * The path of a static request relative to the served root, or an HttpError. `rawPath` is the
 * request target up to '?', still percent-encoded.
 */
export function staticRelativePath(rawPath: string): string {
  if (!rawPath.startsWith('/')) throw new HttpError(400, 'request target must be an absolute path');
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in path');
  }
  if (decoded.includes('\0')) throw new HttpError(400, 'NUL byte in path');
  if (decoded.includes('\\')) throw new HttpError(400, 'backslash in path');
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..' || s === '.')) throw new HttpError(403, 'path leaves the served directory');
  const rel = segments.filter((s) => s !== '').join('/');
  return rel === '' ? 'index.html' : rel;
}

async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, rawPath: string): Promise<void> {
  const rel = staticRelativePath(rawPath);
  if (rel.split('/').some((s) => s.startsWith('.'))) throw new HttpError(404, `not found: /${rel}`);
  let real: string;
  try {
    real = await realpath(join(root, rel));
  } catch {
    throw new HttpError(404, `not found: /${rel}`);
  }
  if (real !== root && !real.startsWith(root + sep)) throw new HttpError(403, 'path leaves the served directory');
  const st = await stat(real);
  if (!st.isFile()) throw new HttpError(404, `not found: /${rel}`);
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const headers: Record<string, string | number> = {
    'Content-Type': CONTENT_TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream',
    ETag: etag,
    'Cache-Control': 'no-cache',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['Content-Length'] = st.size;
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(real);
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    stream.on('end', resolve);
    stream.pipe(res);
  });
}

/**
 * Reads a request body up to `limit` bytes. Over the limit it answers 413 at once; the rest of
 * the upload is drained (up to a bound) so the client gets to read the answer instead of a reset.
 */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = () => {
      res.setHeader('Connection', 'close');
      sendError(res, 413, `upload exceeds the ${limit} byte limit`);
      let drained = 0;
      req.removeAllListeners('data');
      req.on('data', (c: Buffer) => {
        drained += c.length;
        if (drained > 8 * limit) req.destroy();
      });
      req.resume();
      resolve(null);
    };
    if (Number.isFinite(declared) && declared > limit) {
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        tooLarge();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(new Uint8Array(Buffer.concat(chunks, size)));
    });
    req.on('error', reject);
  });
}

function numberParam(q: URLSearchParams, name: string, min: number, max: number, fallback: number | undefined): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new HttpError(400, `query parameter ${name}=${v} must be a number in [${min}, ${max}]`);
  return n;
}

function toBase64(a: Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

export function createServer(options: ServerOptions): Server {
  const maxUpload = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const maxPending = options.maxPending ?? 64;
  const { model } = options;
  let pending = 0;
  let root = options.staticRoot;
  const rootReady = realpath(options.staticRoot).then((r) => (root = r));

  const modelInfo = () => ({
    metadata: model.metadata,
    provider: model.provider,
    modelUrl: '/model.onnx',
    modelBytes: options.modelBytes.length,
    // Every precision served, the main model's own included: precision → URL.
    models: {
      [model.metadata.precision]: '/model.onnx',
      ...Object.fromEntries(Object.keys(options.variants ?? {}).map((p) => [p, `/model-${p}.onnx`])),
    },
  });

  async function segment(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!type) throw new HttpError(415, 'missing Content-Type; send the image bytes with an image/* type (image/png, image/jpeg, …)');
    if (!IMAGE_TYPES.has(type)) throw new HttpError(415, `unsupported Content-Type ${type}; send the image bytes as one of ${[...IMAGE_TYPES].join(', ')}`);
    const bgThreshold = numberParam(query, 'bgThreshold', 0, 1, undefined);
    const maxSide = numberParam(query, 'maxSide', 0, 8192, options.maxSide ?? 1024);
    const format = query.get('format') ?? 'json';
    if (format !== 'json' && format !== 'png') throw new HttpError(400, `query parameter format=${format} must be json or png`);
    if (pending >= maxPending) throw new HttpError(503, `server busy (${pending} images in progress); retry shortly`);
    pending++;
    try {
      const body = await readBody(req, res, maxUpload);
      if (!body) return; // answered 413
      if (body.length === 0) throw new HttpError(400, 'empty upload: the request body must hold the image bytes');
      let seg;
      try {
        seg = await segmentImageBytes(model, body, 'the uploaded image', { bgThreshold, maxSide });
      } catch (e) {
        if (e instanceof ImageDecodeError) throw new HttpError(400, e.message);
        throw e;
      }
      const { labels } = seg;
      if (format === 'png') {
        const png = encodeIndexedPng({ width: labels.width, height: labels.height, data: labels.data });
        res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length });
        res.end(png);
        return;
      }
      const numLabels = Math.min(MAX_CLASSES + 1, model.metadata.classNames.length + 1);
      sendJson(res, 200, {
        width: labels.width,
        height: labels.height,
        labels: toBase64(labels.data),
        labelsEncoding: 'base64 uint8, row-major; 0 = background, class i of classNames = i + 1',
        classNames: model.metadata.classNames,
        counts: labelCounts(labels, numLabels),
        rule: seg.rule,
        provider: model.provider,
        timings: seg.timings,
      });
    } finally {
      pending--;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    isolationHeaders(res);
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q < 0 ? target : target.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
    const method = req.method ?? 'GET';

    if (rawPath === '/api/segment') {
      if (method !== 'POST') {
        res.setHeader('Allow', 'POST');
        throw new HttpError(405, 'use POST with the image bytes as the body');
      }
      await segment(req, res, query);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      throw new HttpError(405, `method ${method} not allowed here`);
    }
    if (rawPath === '/api/model') {
      sendJson(res, 200, modelInfo());
      return;
    }
    const variant = /^\/model-(fp32|fp16|int8)\.onnx$/.exec(rawPath)?.[1] as ModelPrecision | undefined;
    const modelFile = rawPath === '/model.onnx' ? options.modelBytes : variant ? options.variants?.[variant] : undefined;
    if (modelFile) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': modelFile.length, 'Cache-Control': 'no-cache' });
      res.end(method === 'HEAD' ? undefined : modelFile);
      return;
    }
    await rootReady;
    await serveStatic(req, res, root, rawPath);
  }

  return createHttpServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) sendError(res, e.status, e.message);
      else {
        console.error(`wsss serve: ${req.method} ${req.url}: ${(e as Error).stack ?? e}`);
        sendError(res, 500, `internal error: ${(e as Error).message}`);
      }
      // An error answered before the body was read: drop the rest of the upload.
      if (!req.complete) req.resume();
    });
  });
}

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Creates and starts the server; resolves once it listens. Port 0 picks a free port. */
export async function startServer(options: ServerOptions & { host?: string; port?: number }): Promise<RunningServer> {
  const server = createServer(options);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${shownHost}:${addr.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
