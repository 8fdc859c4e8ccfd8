// What an ONNX graph file declares at its edges — graph inputs, outputs and the shapes of its initializers — read
// straight from the protobuf without onnxruntime and without reading the weights (issue 14). The package check
// (package.ts) compares these against config.json before anything is allocated from a config number, and a file
// that is not a well-formed ModelProto is refused here as CorruptModel naming the file, instead of surfacing as
// onnxruntime's "Protobuf parsing failed" behind ProviderUnavailable.
//
// Only the fields needed are decoded (onnx/onnx.proto3): ModelProto.graph (7); GraphProto.initializer (5),
// input (11), output (12); ValueInfoProto.name (1), type (2); TypeProto.tensor_type (1); Tensor.elem_type (1),
// shape (2); TensorShapeProto.dim (1); Dimension.dim_value (1), dim_param (2); TensorProto.dims (1),
// data_type (2), name (8). Everything else is skipped by its length without being read, so a file of several GiB
// of weights costs a few small reads. Every length is checked against the bytes its parent has left.

import { open, type FileHandle } from 'node:fs/promises';
import { ModelError } from './errors';

/** onnx TensorProto.DataType → the names onnxruntime-node's metadata uses. */
const ELEM_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

export interface GraphValue {
  name: string;
  /** false for sequences, maps, optionals (the runtime feeds tensors only). */
  isTensor: boolean;
  /** 'float32', 'int64', … or `elem_type N` for one this table does not name. */
  type: string;
  /** Dimensions: a number when static, the dim_param name (or '?') when symbolic; [] when the shape is unknown. */
  shape: (number | string)[];
}

export interface GraphSignature {
  file: string;
  inputs: GraphValue[];
  outputs: GraphValue[];
  /** Name → dims of every initializer (weights), as declared; their data is not read. */
  initializers: Map<string, number[]>;
  /** Name → [byte offset, byte length] of an initializer's raw_data in the file (where it is stored inline). */
  weightData: Map<string, [number, number]>;
}

/** Protobuf bounds this reader accepts: nesting and counts that no real export approaches. */
const MAX_VALUES = 100_000;
const MAX_DIMS = 64;
const MAX_NAME = 64 * 1024;
const CHUNK = 64 * 1024;

class Corrupt extends Error {}

/** Reads a protobuf stream from a file handle with a small window; skipping a field never reads it. */
class ProtoReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  private async ensure(n: number): Promise<void> {
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length) return;
    const want = Math.min(Math.max(n, CHUNK), this.size - this.pos);
    if (want < n) throw new Corrupt(`ends inside a field at byte ${this.pos}`);
    const buf = Buffer.alloc(want);
    const { bytesRead } = await this.fh.read(buf, 0, want, this.pos);
    if (bytesRead < n) throw new Corrupt(`ends inside a field at byte ${this.pos}`);
    this.buf = buf.subarray(0, bytesRead);
    this.bufStart = this.pos;
  }

  /** A varint as a JS number (exact up to 2^53; larger values only occur in corrupt files and are reported). */
  async varint(end: number): Promise<number> {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new Corrupt(`ends inside a number at byte ${this.pos}`);
      await this.ensure(1);
      const b = this.buf[this.pos - this.bufStart]!;
      this.pos++;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new Corrupt(`has a malformed number at byte ${this.pos}`);
  }

  async bytes(n: number): Promise<Buffer> {
    await this.ensure(n);
    const out = Buffer.from(this.buf.subarray(this.pos - this.bufStart, this.pos - this.bufStart + n));
    this.pos += n;
    return out;
  }

  /** One field header inside [pos, end): its number, wire type, and for length-delimited fields the end. */
  async field(end: number): Promise<{ no: number; wire: number; fieldEnd: number }> {
    const at = this.pos;
    const key = await this.varint(end);
    const no = Math.floor(key / 8);
    const wire = key % 8;
    if (no < 1) throw new Corrupt(`has an invalid field number at byte ${at}`);
    if (wire === 2) {
      const len = await this.varint(end);
      if (len > end - this.pos) throw new Corrupt(`has a field of ${len} bytes at byte ${at} that runs past its end (truncated?)`);
      return { no, wire, fieldEnd: this.pos + len };
    }
    return { no, wire, fieldEnd: -1 };
  }

  /** Skips the value of a field whose header was just read. */
  async skip(f: { wire: number; fieldEnd: number }, end: number): Promise<void> {
    switch (f.wire) {
      case 0:
        await this.varint(end);
        return;
      case 1:
      case 5: {
        const n = f.wire === 1 ? 8 : 4;
        if (n > end - this.pos) throw new Corrupt(`ends inside a fixed-size field at byte ${this.pos}`);
        this.pos += n;
        return;
      }
      case 2:
        this.pos = f.fieldEnd;
        return;
      default:
        throw new Corrupt(`has an unknown wire type ${f.wire} at byte ${this.pos}`);
    }
  }

  async string(f: { wire: number; fieldEnd: number }): Promise<string> {
    if (f.wire !== 2) throw new Corrupt(`has a string field of wire type ${f.wire} at byte ${this.pos}`);
    const n = f.fieldEnd - this.pos;
    if (n > MAX_NAME) throw new Corrupt(`has a name of ${n} bytes at byte ${this.pos}`);
    return (await this.bytes(n)).toString('utf8');
  }
}

/** Iterates the fields of a message spanning [r.pos, end); `visit` reads or skips each (unread ones are skipped). */
async function message(
  r: ProtoReader,
  end: number,
  visit: (f: { no: number; wire: number; fieldEnd: number }) => Promise<boolean>,
): Promise<void> {
  while (r.pos < end) {
    const f = await r.field(end);
    const start = r.pos;
    const handled = await visit(f);
    if (!handled) {
      r.pos = start;
      await r.skip(f, end);
    } else if (f.wire === 2 && r.pos !== f.fieldEnd) {
      throw new Corrupt(`has a nested message at byte ${start} whose contents do not fill its length`);
    }
  }
  if (r.pos !== end) throw new Corrupt(`has a message that overruns its length at byte ${r.pos}`);
}

function expectWire(f: { wire: number }, wire: number, what: string, at: number): void {
  if (f.wire !== wire) throw new Corrupt(`has ${what} of wire type ${f.wire} at byte ${at}`);
}

async function readDims(r: ProtoReader, end: number): Promise<(number | string)[]> {
  const dims: (number | string)[] = [];
  await message(r, end, async (f) => {
    if (f.no !== 1) return false;
    expectWire(f, 2, 'a dimension', r.pos);
    if (dims.length >= MAX_DIMS) throw new Corrupt(`declares more than ${MAX_DIMS} dimensions`);
    let dim: number | string = '?';
    await message(r, f.fieldEnd, async (d) => {
      if (d.no === 1 && d.wire === 0) {
        dim = await r.varint(f.fieldEnd);
        return true;
      }
      if (d.no === 2 && d.wire === 2) {
        dim = (await r.string(d)) || '?';
        return true;
      }
      return false;
    });
    dims.push(dim);
    return true;
  });
  return dims;
}

async function readValueInfo(r: ProtoReader, end: number): Promise<GraphValue> {
  const v: GraphValue = { name: '', isTensor: false, type: 'unknown', shape: [] };
  await message(r, end, async (f) => {
    if (f.no === 1 && f.wire === 2) {
      v.name = await r.string(f);
      return true;
    }
    if (f.no === 2 && f.wire === 2) {
      // TypeProto: only tensor_type (1) is read; any other kind leaves isTensor false.
      await message(r, f.fieldEnd, async (t) => {
        if (t.no !== 1 || t.wire !== 2) return false;
        v.isTensor = true;
        await message(r, t.fieldEnd, async (tt) => {
          if (tt.no === 1 && tt.wire === 0) {
            const e = await r.varint(t.fieldEnd);
            v.type = ELEM_TYPES[e] ?? `elem_type ${e}`;
            return true;
          }
          if (tt.no === 2 && tt.wire === 2) {
            v.shape = await readDims(r, tt.fieldEnd);
            return true;
          }
          return false;
        });
        return true;
      });
      return true;
    }
    return false;
  });
  return v;
}

async function readInitializer(r: ProtoReader, end: number): Promise<{ name: string; dims: number[]; data?: [number, number] }> {
  let name = '';
  const dims: number[] = [];
  let data: [number, number] | undefined;
  await message(r, end, async (f) => {
    if (f.no === 9 && f.wire === 2) {
      data = [r.pos, f.fieldEnd - r.pos];
      r.pos = f.fieldEnd;
      return true;
    }
    if (f.no === 8 && f.wire === 2) {
      name = await r.string(f);
      return true;
    }
    if (f.no === 1) {
      // dims: repeated int64, packed (wire 2) or not (wire 0).
      if (f.wire === 0) dims.push(await r.varint(end));
      else if (f.wire === 2) while (r.pos < f.fieldEnd) dims.push(await r.varint(f.fieldEnd));
      else throw new Corrupt(`has tensor dims of wire type ${f.wire}`);
      if (dims.length > MAX_DIMS) throw new Corrupt(`declares a weight of more than ${MAX_DIMS} dimensions`);
      return true;
    }
    return false;
  });
  return { name, dims, data };
}

async function readGraph(r: ProtoReader, end: number, sig: GraphSignature): Promise<void> {
  let count = 0;
  await message(r, end, async (f) => {
    if (f.no !== 5 && f.no !== 11 && f.no !== 12) return false;
    if (++count > MAX_VALUES) throw new Corrupt(`declares more than ${MAX_VALUES} values`);
    expectWire(f, 2, 'a graph value', r.pos);
    if (f.no === 5) {
      const { name, dims, data } = await readInitializer(r, f.fieldEnd);
      sig.initializers.set(name, dims);
      if (data) sig.weightData.set(name, data);
    } else {
      (f.no === 11 ? sig.inputs : sig.outputs).push(await readValueInfo(r, f.fieldEnd));
    }
    return true;
  });
}

/**
 * Reads a graph file's signature. `shownAs` names the file in messages (`onnx/decoder_model_merged.onnx`).
 * Throws CorruptModel when the file is not a complete ModelProto with a graph, MissingFile when it cannot be read.
 */
export async function readGraphSignature(path: string, shownAs: string, maxBytes: number): Promise<GraphSignature> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new ModelError('MissingFile', `${shownAs} cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`, { cause: e });
  }
  try {
    const size = (await fh.stat()).size;
    // A protobuf message cannot exceed 2 GiB; larger exports keep weights in external data files.
    if (size > maxBytes) throw new ModelError('BadConfig', `${shownAs} is ${size} bytes, above the ${maxBytes}-byte limit for one ONNX file`);
    if (size === 0) throw new ModelError('CorruptModel', `${shownAs} is empty`);
    const r = new ProtoReader(fh, size);
    const sig: GraphSignature = { file: shownAs, inputs: [], outputs: [], initializers: new Map(), weightData: new Map() };
    let graphs = 0;
    try {
      await message(r, size, async (f) => {
        if (f.no !== 7) return false;
        expectWire(f, 2, 'a graph', r.pos);
        graphs++;
        await readGraph(r, f.fieldEnd, sig);
        return true;
      });
    } catch (e) {
      if (e instanceof Corrupt) throw new ModelError('CorruptModel', `${shownAs} is not a valid ONNX model: it ${e.message}`, { cause: e });
      throw e;
    }
    if (graphs !== 1) throw new ModelError('CorruptModel', `${shownAs} is not a valid ONNX model: it holds ${graphs} graphs, expected one`);
    // Initializers listed among the inputs (older IR versions) are weights, not values to feed.
    sig.inputs = sig.inputs.filter((v) => !sig.initializers.has(v.name));
    return sig;
  } finally {
    await fh.close();
  }
}
