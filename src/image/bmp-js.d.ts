/** bmp-js ships no types. decode() returns pixels as ABGR bytes (A is 0 for non-alpha BMPs). */
declare module 'bmp-js' {
  interface BmpDecoded {
    width: number;
    height: number;
    data: Buffer;
  }
  const bmp: { decode(buffer: Buffer): BmpDecoded };
  export default bmp;
}
