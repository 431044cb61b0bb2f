// What the install-time native builds share (train/kernels/build-native.mjs for the training
// kernels, runtime/crf/build-native.mjs for the dense CRF): finding the C compiler and Node-API
// headers, compiling units two at a time, and installing the result atomically. The compiler is
// called directly rather than through node-gyp: an addon needs only node_api.h, which ships with
// Node, so nothing is downloaded.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export function findCompiler() {
  const candidates = [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean);
  for (const cc of candidates) {
    const r = spawnSync(cc, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { cc, version: r.stdout.split('\n')[0].trim() };
  }
  throw new Error(`no C compiler found (tried ${candidates.join(', ')}; set CC to choose one)`);
}

export function findNodeApiHeaders() {
  const candidates = [
    process.env.WSSS_NODE_INCLUDE,
    resolve(dirname(process.execPath), '..', 'include', 'node'),
    process.config?.variables?.node_prefix ? join(process.config.variables.node_prefix, 'include', 'node') : undefined,
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  for (const dir of candidates) if (existsSync(join(dir, 'node_api.h'))) return dir;
  throw new Error(`node_api.h not found (looked in ${candidates.join(', ')}; set WSSS_NODE_INCLUDE)`);
}

/** Whether `cc` accepts `flags` for a C translation unit holding `source`. */
export function supportsFlags(cc, flags, source = 'int main(void){return 0;}') {
  const r = spawnSync(cc, [...flags, '-x', 'c', '-c', '-o', process.platform === 'win32' ? 'NUL' : '/dev/null', '-'], {
    input: source,
    encoding: 'utf8',
  });
  return r.status === 0;
}

function run(cmd, args) {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', fail);
    p.on('close', (code) => (code === 0 ? ok() : fail(new Error(`${cmd} ${args.join(' ')}\n${err.trim()}`))));
  });
}

/**
 * Compiles `units` ({ src, flags, obj? }, sources in srcDir; `obj` names the object when one
 * source is compiled twice) with `base` flags, links them into a
 * shared library `name`, and installs it in outDir atomically (a process loading the old addon
 * never sees a half-written file), with build-info.json beside it holding `info`.
 */
export async function buildAddon({ cc, srcDir, outDir, name, base, units, info }) {
  const tmp = mkdtempSync(join(tmpdir(), 'wsss-native-'));
  try {
    const objects = units.map((u) => join(tmp, u.obj ?? u.src.replace(/\.c$/, '.o')));
    // two at a time: the machines this runs on are small
    const queue = units.map((u, i) => () => run(cc, [...base, ...u.flags, '-c', join(srcDir, u.src), '-o', objects[i]]));
    await Promise.all(
      [0, 1].map(async () => {
        for (let job = queue.shift(); job; job = queue.shift()) await job();
      }),
    );
    const linkFlags = ['-shared', '-pthread', '-lm'];
    if (process.platform === 'darwin') linkFlags.push('-undefined', 'dynamic_lookup');
    const linked = join(tmp, name);
    await run(cc, [...objects, ...linkFlags, '-o', linked]);
    mkdirSync(outDir, { recursive: true });
    const staged = join(outDir, `${name}.${process.pid}.tmp`);
    rmSync(staged, { force: true });
    renameOrCopy(linked, staged);
    renameSync(staged, join(outDir, name));
    const infoTmp = join(outDir, `build-info.json.${process.pid}.tmp`);
    writeFileSync(infoTmp, JSON.stringify({ ...info, node: process.version, napi: process.versions.napi, arch: process.arch, builtAt: new Date().toISOString() }, null, 2) + '\n');
    renameSync(infoTmp, join(outDir, 'build-info.json'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function renameOrCopy(from, to) {
  try {
    renameSync(from, to);
  } catch {
    copyFileSync(from, to); // tmpdir on another file system
  }
}
