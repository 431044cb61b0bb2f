// The one image decoder of the Node side: every command, the data loaders and the server turn
// image files into pixels here, so they all accept the same files, see the same pixels and
// report a bad file the same way.
//
// What it guarantees, whatever the file:
// - the format is judged from the bytes, never from the file name (a PNG named .jpg decodes);
// - the size is read from the header and checked BEFORE any pixel is allocated, so a small file
//   whose header claims 30000×30000 is refused in milliseconds instead of taking gigabytes;
// - a truncated or corrupt file fails (sharp's failOn 'warning') instead of decoding half grey;
// - the pixels are what a browser draws: EXIF orientation applied, CMYK/16-bit/grey converted to
//   8-bit sRGB, alpha dropped — always 3 channels, row-major HWC;
// - every failure is an ImageDecodeError whose message starts with the file's name and says why.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';

/** Largest image (in pixels) decoded; larger ones are refused from their header. */
export const MAX_DECODED_PIXELS = 64 * 1024 * 1024;

/** Decoded pixels: 8-bit sRGB, 3 channels, row-major HWC (a PixelImage and an RgbImage). */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

/** An image that cannot be decoded. `file` names it, `reason` says why; the message holds both. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(
    message: string,
    readonly file: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Formats we decode, told apart by their leading bytes. SVG (text that may fetch files) and the rest are refused. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif';

const ACCEPTED = 'JPEG, PNG, WebP, GIF, TIFF or AVIF';

function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** The image format of `bytes` from its signature, or null when it is none we decode. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'gif';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(bytes, ascii('ftyp'), 4) && /^(avif|avis|heic|heix|mif1|msf1)$/.test(String.fromCharCode(...bytes.subarray(8, 12)))) return 'avif';
  return null;
}

function fail(name: string, reason: string, isPhrase = false): never {
  // `reason` stands alone ("<file>: <reason>" in a list of failures). The message is
  // "<name>: <reason>", or "<name> is <reason>" where that reads better ("… is not a decodable image").
  throw new ImageDecodeError(isPhrase ? `${name} is ${reason}` : `${name}: ${reason}`, name, reason);
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Decodes encoded image bytes; `name` (a path, or e.g. 'the uploaded image') goes into errors. */
export async function decodeImageBytes(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  if (bytes.length === 0) fail(name, 'empty file (0 bytes)');
  const format = sniffImageFormat(bytes);
  if (!format) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    fail(name, `not a decodable image (its first bytes ${head} match none of ${ACCEPTED})`, true);
  }
  // One decode on the happy path; sharp refuses an image over the pixel limit from its header
  // (limitInputPixels), before allocating any pixel. Only when decoding fails is the header read
  // again, to say why: no size, too large, or broken data after a good header.
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_DECODED_PIXELS, failOn: 'warning' })
      .rotate() // EXIF orientation, as browsers draw it
      .removeAlpha()
      .toColourspace('srgb') // CMYK (with its ICC profile or libvips' default), grey, 16-bit → 8-bit sRGB
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
  } catch (e) {
    return explainDecodeFailure(bytes, name, format, e as Error);
  }
}

/** The reason a decode failed, from the header alone (no pixel is decoded here, whatever size it claims). */
async function explainDecodeFailure(bytes: Uint8Array, name: string, format: ImageFormat, decodeError: Error): Promise<never> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    return fail(name, `cannot decode image, unreadable ${format} header (${oneLine((e as Error).message)})`);
  }
  const { width, height } = meta;
  if (!width || !height) return fail(name, `cannot decode image, the ${format} header gives no size`);
  if (width * height > MAX_DECODED_PIXELS) {
    fail(name, `image of ${width}×${height} pixels (${((width * height) / 1e6).toFixed(0)} megapixels) is over the ${MAX_DECODED_PIXELS}-pixel limit (refused from its header, before decoding)`);
  }
  return fail(name, `cannot decode image, truncated or corrupt ${format} data (${oneLine(decodeError.message)})`);
}

/**
 * Reads and decodes an image file; errors name the path. `blockingRead` reads the file on the
 * calling thread: for worker threads, where it spares a round trip through libuv's thread pool
 * (a batch pipeline's CPU budget); never on a thread that serves requests.
 */
export async function decodeImageFile(path: string, o: { blockingRead?: boolean } = {}): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(o.blockingRead ? readFileSync(path) : await readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') fail(path, 'file does not exist');
    if (err.code === 'EISDIR') fail(path, 'a directory, not an image file');
    return fail(path, `file cannot be read (${err.code ?? oneLine(err.message)})`);
  }
  return decodeImageBytes(bytes, path);
}
