// onnxruntime-node as the native peer of the matmul benchmark: a one-node ONNX MatMul graph, written
// with a tiny protobuf encoder (no extra dependency), B as a graph input (not a constant, so MLAS
// cannot prepack it: the same conditions as our kernel, which packs on every call).

/** Minimal protobuf writer: varints, length-delimited strings and sub-messages. */
class ProtoWriter {
  private readonly bytes: number[] = [];

  varint(value: number): this {
    let v = value;
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
    return this;
  }

  int(field: number, value: number): this {
    return this.varint(field * 8).varint(value);
  }

  string(field: number, text: string): this {
    return this.bytesField(field, new TextEncoder().encode(text));
  }

  message(field: number, sub: ProtoWriter): this {
    return this.bytesField(field, sub.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  private bytesField(field: number, data: Uint8Array): this {
    this.varint(field * 8 + 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT

function valueInfo(name: string, dims: readonly number[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, new ProtoWriter().int(1, d)); // TensorShapeProto.dim { dim_value }
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape); // TypeProto.Tensor { elem_type, shape }
  const type = new ProtoWriter().message(1, tensorType); // TypeProto { tensor_type }
  return new ProtoWriter().string(1, name).message(2, type); // ValueInfoProto { name, type }
}

/** ModelProto bytes of Y[m, n] = MatMul(A[m, k], B[k, n]), opset 17. */
export function matmulModel(m: number, k: number, n: number): Uint8Array {
  const node = new ProtoWriter().string(1, 'A').string(1, 'B').string(2, 'Y').string(3, 'mm').string(4, 'MatMul');
  const graph = new ProtoWriter()
    .message(1, node)
    .string(2, 'matmul')
    .message(11, valueInfo('A', [m, k]))
    .message(11, valueInfo('B', [k, n]))
    .message(12, valueInfo('Y', [m, n]));
  const opset = new ProtoWriter().string(1, '').int(2, 17);
  return new ProtoWriter().int(1, 8).message(8, opset).string(2, 'thrifty-bench').message(7, graph).finish();
}

/** The parts of onnxruntime-node used here (typed locally so the benchmark builds without it). */
interface OrtTensor {
  readonly data: unknown;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

export interface OrtMatmul {
  /** Runs Y = A B once; resolves with Y's data. */
  run(): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface OrtLoader {
  available: boolean;
  note: string;
  version: string;
  create(a: Float32Array, b: Float32Array, m: number, k: number, n: number, threads: number): Promise<OrtMatmul>;
}

/** Loads onnxruntime-node if it is installed; otherwise `available` is false and `note` says why. */
export async function loadOrt(): Promise<OrtLoader> {
  let ort: OrtModule;
  let version = 'unknown';
  try {
    const name = 'onnxruntime-node';
    const mod = (await import(name)) as OrtModule & { env?: { versions?: { node?: string } } };
    ort = mod;
    version = mod.env?.versions?.node ?? version;
  } catch (err) {
    const note = `onnxruntime-node unavailable (${err instanceof Error ? err.message.split('\n')[0] : String(err)}; npm run bench:peers installs it)`;
    return {
      available: false, note, version,
      create: () => Promise.reject(new Error(note)),
    };
  }
  return {
    available: true,
    note: 'onnxruntime-node CPU EP, MatMul with B as an input, sequential, intra-op spinning off',
    version,
    async create(a, b, m, k, n, threads) {
      const session = await ort.InferenceSession.create(matmulModel(m, k, n), {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // Spinning pool threads would steal the core from the next (interleaved) variant.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      const feeds = { A: new ort.Tensor('float32', a, [m, k]), B: new ort.Tensor('float32', b, [k, n]) };
      return {
        async run() {
          const out = await session.run(feeds);
          const y = out['Y'];
          if (!y || !(y.data instanceof Float32Array)) throw new Error('onnxruntime returned no float output');
          return y.data;
        },
        release: () => session.release(),
      };
    },
  };
}
