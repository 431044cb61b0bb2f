// Reading the entries of a zip archive held in memory — what torch.save has written since
// PyTorch 1.6 (entries stored uncompressed, 64-byte aligned; ZIP64 records for files over
// 4 GiB). Deflated entries are inflated with node's zlib; other methods and encrypted
// entries are refused. Every offset is checked, so a truncated file gets an error naming
// the file and what is missing instead of garbage.

import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header. */
  headerOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** True when the bytes start like a zip archive (a local file header, or an empty archive's end record). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readCentralDirectory();
  }

  private fail(why: string): never {
    throw new Error(`${this.source}: broken zip archive: ${why}`);
  }

  private u16(at: number): number {
    if (at + 2 > this.bytes.length) this.fail(`truncated (a record at byte ${at} runs past the end of the ${this.bytes.length}-byte file)`);
    return this.view.getUint16(at, true);
  }

  private u32(at: number): number {
    if (at + 4 > this.bytes.length) this.fail(`truncated (a record at byte ${at} runs past the end of the ${this.bytes.length}-byte file)`);
    return this.view.getUint32(at, true);
  }

  private u64(at: number): number {
    if (at + 8 > this.bytes.length) this.fail(`truncated (a record at byte ${at} runs past the end of the ${this.bytes.length}-byte file)`);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`a size or offset at byte ${at} is too large`);
    return Number(v);
  }

  private readCentralDirectory(): void {
    // The end-of-central-directory record sits in the last 22 + 65,535 (comment) bytes.
    let eocd = -1;
    for (let at = this.bytes.length - 22; at >= Math.max(0, this.bytes.length - 22 - 0xffff); at--)
      if (this.view.getUint32(at, true) === EOCD) {
        eocd = at;
        break;
      }
    if (eocd < 0)
      this.fail(`no end-of-central-directory record (the file is truncated: a complete torch.save archive ends with its directory; ${this.bytes.length} bytes here)`);
    let count = this.u16(eocd + 10);
    let dirOffset = this.u32(eocd + 16);
    if ((count === 0xffff || dirOffset === 0xffffffff) && eocd >= 20 && this.u32(eocd - 20) === EOCD64_LOCATOR) {
      const rec = this.u64(eocd - 20 + 8);
      if (this.u32(rec) !== EOCD64) this.fail('bad ZIP64 end-of-central-directory record');
      count = this.u64(rec + 32);
      dirOffset = this.u64(rec + 48);
    }
    let at = dirOffset;
    for (let i = 0; i < count; i++) {
      if (this.u32(at) !== CENTRAL) this.fail(`central directory entry ${i} at byte ${at} is damaged`);
      const method = this.u16(at + 10);
      let compressedSize = this.u32(at + 20);
      let size = this.u32(at + 24);
      const nameLen = this.u16(at + 28);
      const extraLen = this.u16(at + 30);
      const commentLen = this.u16(at + 32);
      let headerOffset = this.u32(at + 42);
      if (at + 46 + nameLen > this.bytes.length) this.fail('truncated central directory');
      const name = new TextDecoder().decode(this.bytes.subarray(at + 46, at + 46 + nameLen));
      if (this.u16(at + 8) & 1) this.fail(`entry '${name}' is encrypted`);
      // ZIP64 extra field: the 64-bit values of the fields set to 0xFFFFFFFF, in this order.
      for (let e = at + 46 + nameLen; e + 4 <= at + 46 + nameLen + extraLen; ) {
        const id = this.u16(e);
        const len = this.u16(e + 2);
        if (id === 1) {
          let p = e + 4;
          if (size === 0xffffffff) (size = this.u64(p)), (p += 8);
          if (compressedSize === 0xffffffff) (compressedSize = this.u64(p)), (p += 8);
          if (headerOffset === 0xffffffff) headerOffset = this.u64(p);
        }
        e += 4 + len;
      }
      this.entries.set(name, { name, method, compressedSize, size, headerOffset });
      at += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** The bytes of an entry (a view into the archive when stored uncompressed). */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) this.fail(`no entry '${name}'`);
    if (this.u32(e.headerOffset) !== LOCAL) this.fail(`entry '${name}': damaged local header at byte ${e.headerOffset}`);
    const start = e.headerOffset + 30 + this.u16(e.headerOffset + 26) + this.u16(e.headerOffset + 28);
    if (start + e.compressedSize > this.bytes.length)
      this.fail(`entry '${name}' is truncated (needs bytes ${start}–${start + e.compressedSize}, the file has ${this.bytes.length})`);
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    if (e.method === 0) return raw;
    if (e.method === 8) {
      const out = inflateRawSync(raw);
      if (out.length !== e.size) this.fail(`entry '${name}' inflates to ${out.length} bytes, the directory says ${e.size}`);
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    }
    return this.fail(`entry '${name}' uses compression method ${e.method} (only stored and deflated entries are read)`);
  }
}
