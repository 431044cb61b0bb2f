// `wsss serve`'s HTTP server: static-path security, cross-origin-isolation headers, and the
// /api/segment contract (limits, content types, errors, concurrency, same labels as in-process).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import * as ortNode from 'onnxruntime-node';
import { startServer, staticRelativePath, type RunningServer } from '../../runtime/node/server/server.ts';
import { segmentImageBytes } from '../../runtime/node/server/segment-image.ts';
import { openModel, type OpenModel, type OrtModule } from '../../runtime/session.ts';
import { fixtureModelBytes, syntheticImage } from './fixture-model.ts';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A raw HTTP request: node's client sends the path exactly as given (fetch would normalise '..'). */
function send(base: string, method: string, path: string, headers: Record<string, string | number> = {}, body?: Uint8Array): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    // The server may answer (413) and close before a huge body is fully sent.
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    req.end(body);
  });
}

let dir: string;
let server: RunningServer;
let model: OpenModel;
let png: Buffer;
const modelBytes = fixtureModelBytes();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsss-serve-test-'));
  const root = join(dir, 'site');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>demo</title>');
  writeFileSync(join(root, 'sub', 'app.js'), 'export {};');
  writeFileSync(join(root, '.secret'), 'hidden');
  writeFileSync(join(dir, 'outside.txt'), 'root:x:0:0:outside the served directory');
  symlinkSync(join(dir, 'outside.txt'), join(root, 'escape.txt'));
  model = await openModel(ortNode as unknown as OrtModule, modelBytes, { providers: ['cpu'], source: 'fixture.onnx' });
  server = await startServer({ model, modelBytes, staticRoot: root, port: 0, maxUploadBytes: 5 * 1024 * 1024 });
  png = await sharp(Buffer.from(syntheticImage(150, 100, 5)), { raw: { width: 150, height: 100, channels: 3 } }).png().toBuffer();
});

after(async () => {
  await server?.close();
  await model?.release();
  rmSync(dir, { recursive: true, force: true });
});

test('static files are served with cross-origin-isolation headers', async () => {
  const r = await send(server.url, 'GET', '/');
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /<title>demo<\/title>/);
  assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp');
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  const js = await send(server.url, 'GET', '/sub/app.js');
  assert.equal(js.status, 200);
  assert.match(String(js.headers['content-type']), /^text\/javascript/);
  const again = await send(server.url, 'GET', '/sub/app.js', { 'If-None-Match': String(js.headers.etag) });
  assert.equal(again.status, 304);
  const m = await send(server.url, 'GET', '/model.onnx');
  assert.equal(m.status, 200);
  assert.ok(m.body.equals(Buffer.from(modelBytes)), 'model bytes served unchanged');
  const info = JSON.parse((await send(server.url, 'GET', '/api/model')).body.toString());
  assert.deepEqual(info.metadata.classNames, ['red-thing', 'green-thing', 'blue-thing']);
  assert.equal(info.provider, 'cpu');
});

test('path traversal in every spelling is refused with 4xx', async () => {
  const attempts = [
    '/../../etc/passwd',
    '/../../../../../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/%2E%2E/%2E%2E/etc/passwd',
    '/..%2f..%2f..%2fetc%2fpasswd',
    '/sub/..%2f..%2f..%2fetc/passwd',
    '/%2e%2e%5c%2e%2e%5cetc%5cpasswd',
    '/..\\..\\etc\\passwd',
    '/%252e%252e/%252e%252e/etc/passwd',
    '/sub/../../outside.txt',
    '/escape.txt',
    '/index.html%00.png',
    '/%e0%a4%a',
    '/.secret',
    '//etc/passwd',
  ];
  for (const path of attempts) {
    const r = await send(server.url, 'GET', path);
    assert.ok(r.status >= 400 && r.status < 500, `${path} → ${r.status}`);
    assert.doesNotMatch(r.body.toString(), /root:/, `${path} leaked a file`);
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp');
  }
  assert.equal(staticRelativePath('/sub/app.js'), 'sub/app.js');
  assert.equal(staticRelativePath('/'), 'index.html');
  assert.throws(() => staticRelativePath('/a/%2e%2e/b'), /leaves the served directory/);
});

test('/api/segment returns the same labels as segmenting in-process', async () => {
  const r = await send(server.url, 'POST', '/api/segment', { 'Content-Type': 'image/png' }, png);
  assert.equal(r.status, 200, r.body.toString());
  const body = JSON.parse(r.body.toString());
  const expected = await segmentImageBytes(model, png, 'png', { maxSide: 1024 });
  assert.equal(body.width, 150);
  assert.equal(body.height, 100);
  assert.deepEqual(new Uint8Array(Buffer.from(body.labels, 'base64')), expected.labels.data);
  assert.equal(body.counts.reduce((a: number, b: number) => a + b, 0), 150 * 100);
  assert.ok(body.counts[1] > 0 && body.counts[2] > 0 && body.counts[3] > 0, 'all three shapes found');
  const lab = await send(server.url, 'POST', '/api/segment?format=png&bgThreshold=0.3', { 'Content-Type': 'image/png' }, png);
  assert.equal(lab.status, 200);
  assert.equal(lab.headers['content-type'], 'image/png');
  const meta = await sharp(lab.body).metadata();
  assert.equal(meta.width, 150);
});

test('/api/segment rejects bad uploads with clear 4xx errors', async () => {
  const big = new Uint8Array(50 * 1024 * 1024);
  const tooBig = await send(server.url, 'POST', '/api/segment', { 'Content-Type': 'image/png' }, big);
  assert.equal(tooBig.status, 413);
  assert.match(JSON.parse(tooBig.body.toString()).error, /exceeds the 5242880 byte limit/);

  const text = await send(server.url, 'POST', '/api/segment', { 'Content-Type': 'text/plain' }, new TextEncoder().encode('hello'));
  assert.equal(text.status, 415);
  assert.match(JSON.parse(text.body.toString()).error, /unsupported Content-Type text\/plain/);

  const none = await send(server.url, 'POST', '/api/segment', {}, new TextEncoder().encode('hello'));
  assert.equal(none.status, 415);

  const garbage = await send(server.url, 'POST', '/api/segment', { 'Content-Type': 'image/png' }, new TextEncoder().encode('definitely not a png'));
  assert.equal(garbage.status, 400);
  // The decoder's message names the upload and says why.
  assert.match(JSON.parse(garbage.body.toString()).error, /^the uploaded image\b.{8,}/);

  const truncated = await send(server.url, 'POST', '/api/segment', { 'Content-Type': 'image/png' }, png.subarray(0, png.length >> 1));
  assert.equal(truncated.status, 400);
  assert.match(JSON.parse(truncated.body.toString()).error, /the uploaded image/);

  const empty = await send(server.url, 'POST', '/api/segment', { 'Content-Type': 'image/png', 'Content-Length': 0 });
  assert.equal(empty.status, 400);
  assert.match(JSON.parse(empty.body.toString()).error, /empty upload/);

  const badQuery = await send(server.url, 'POST', '/api/segment?bgThreshold=2', { 'Content-Type': 'image/png' }, png);
  assert.equal(badQuery.status, 400);
  assert.match(JSON.parse(badQuery.body.toString()).error, /bgThreshold=2 must be a number in \[0, 1\]/);

  const get = await send(server.url, 'GET', '/api/segment');
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST');

  // The server is still healthy afterwards.
  assert.equal((await send(server.url, 'POST', '/api/segment', { 'Content-Type': 'image/png' }, png)).status, 200);
});

test('20 concurrent /api/segment requests all succeed with identical labels', async () => {
  const replies = await Promise.all(Array.from({ length: 20 }, () => send(server.url, 'POST', '/api/segment', { 'Content-Type': 'image/png' }, png)));
  const first = JSON.parse(replies[0].body.toString()).labels;
  for (const r of replies) {
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(JSON.parse(r.body.toString()).labels, first);
  }
});

test('`wsss serve` starts from the CLI, builds the demo and serves it', { timeout: 120_000 }, async () => {
  const modelPath = join(dir, 'fixture.onnx');
  writeFileSync(modelPath, modelBytes);
  const child = spawn(process.execPath, ['bin/wsss.js', 'serve', '--model', modelPath, '--port', '0', '--providers', 'cpu'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /serving the demo at (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('exit', (code) => reject(new Error(`wsss serve exited with ${code}: ${err}${out}`)));
    });
    const page = await send(url, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<script type="module" src="main\.js"><\/script>/);
    assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
    for (const f of ['/main.js', '/ort/ort-wasm-simd-threaded.jsep.mjs']) assert.equal((await send(url, 'HEAD', f)).status, 200, f);
    const wasm = await send(url, 'HEAD', '/ort/ort-wasm-simd-threaded.jsep.wasm');
    assert.equal(wasm.headers['content-type'], 'application/wasm');
  } finally {
    child.kill('SIGTERM');
  }
  // A missing model is a user error with a clear message.
  const bad = spawn(process.execPath, ['bin/wsss.js', 'serve', '--model', join(dir, 'nope.onnx'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  bad.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => bad.on('exit', resolve));
  assert.equal(code, 1);
  assert.match(stderr, /model file .*nope\.onnx does not exist/);
});
