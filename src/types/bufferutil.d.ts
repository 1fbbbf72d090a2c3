// bufferutil (native XOR used by ws): no published types.
declare module 'bufferutil' {
  export function mask(source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number): void;
  export function unmask(buffer: Buffer, mask: Buffer): void;
}
