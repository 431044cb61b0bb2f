// Reads the metadata_props of an ONNX model straight from its bytes.
//
// onnxruntime's JavaScript API does not expose a model's custom metadata, and a full protobuf
// library would bloat the browser bundle, so this walks the ModelProto wire format by hand:
// it visits the top-level fields, skips everything (the graph included) by its length prefix, and
// decodes only field 14, `repeated StringStringEntryProto metadata_props` (key = 1, value = 2).

const MODEL_PROTO_METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** The bytes are not a readable ONNX ModelProto. */
export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
}

class WireReader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
    readonly source: string,
  ) {
    this.pos = start;
  }

  fail(why: string): never {
    throw new OnnxFormatError(`${this.source} is not a valid ONNX model: ${why} at byte ${this.pos}`);
  }

  /** Varints beyond 2^53 cannot index anything we read, so a Number is enough. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) this.fail(`field of ${n} bytes runs past the end`);
    this.pos += n;
  }

  /** Skips one field's payload; returns [start, end) of a length-delimited payload, else null. */
  payload(wireType: number): [number, number] | null {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return null;
      case WIRE_FIXED64:
        this.skip(8);
        return null;
      case WIRE_FIXED32:
        this.skip(4);
        return null;
      case WIRE_LENGTH_DELIMITED: {
        const len = this.varint();
        const start = this.pos;
        this.skip(len);
        return [start, start + len];
      }
      default:
        return this.fail(`unsupported wire type ${wireType}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * The model's metadata_props as a plain record (later duplicates win, as in onnxruntime).
 * `source` names the model in error messages.
 */
export function readOnnxMetadataProps(bytes: Uint8Array, source = 'model'): Record<string, string> {
  if (bytes.length === 0) throw new OnnxFormatError(`${source} is not a valid ONNX model: the file is empty`);
  const top = new WireReader(bytes, 0, bytes.length, source);
  const props: Record<string, string> = {};
  let sawGraph = false;
  while (top.pos < top.end) {
    const tag = top.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) top.fail('field number 0');
    const range = top.payload(wire);
    if (field === 7 && range) sawGraph = true;
    if (field !== MODEL_PROTO_METADATA_PROPS || !range) continue;
    const entry = new WireReader(bytes, range[0], range[1], source);
    let key = '';
    let value = '';
    while (entry.pos < entry.end) {
      const etag = entry.varint();
      const r = entry.payload(etag & 7);
      if (!r) continue;
      if (Math.floor(etag / 8) === ENTRY_KEY) key = utf8.decode(bytes.subarray(r[0], r[1]));
      else if (Math.floor(etag / 8) === ENTRY_VALUE) value = utf8.decode(bytes.subarray(r[0], r[1]));
    }
    props[key] = value;
  }
  if (!sawGraph) throw new OnnxFormatError(`${source} is not a valid ONNX model: it has no graph`);
  return props;
}
