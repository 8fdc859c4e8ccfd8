// Types for the codec packages that ship none (the shapes used here, from their READMEs and embind classes).
declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  interface FrameInfo { width: number; height: number; bitsPerSample: number; componentCount: number }
  interface JpegLSDecoder {
    getEncodedBuffer(length: number): Uint8Array;
    getDecodedBuffer(): Uint8Array;
    decode(): void;
    getFrameInfo(): FrameInfo;
    delete(): void;
  }
  const factory: (module?: { wasmBinary?: Uint8Array; print?(text: string): void; printErr?(text: string): void }) => Promise<{ JpegLSDecoder: new () => JpegLSDecoder }>;
  export default factory;
}

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  interface FrameInfo { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean }
  interface J2KDecoder {
    getEncodedBuffer(length: number): Uint8Array;
    getDecodedBuffer(): Uint8Array;
    decode(): void;
    getFrameInfo(): FrameInfo;
    delete(): void;
  }
  const factory: (module?: { wasmBinary?: Uint8Array; print?(text: string): void; printErr?(text: string): void }) => Promise<{ J2KDecoder: new () => J2KDecoder }>;
  export default factory;
}

declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    constructor(buffer?: ArrayBuffer | null, numBytes?: number);
    decode(buffer: ArrayBuffer, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array;
  }
}
