/** The part of pcap-parser's API segmap uses (the package ships no types). */
declare module 'pcap-parser' {
  import type { EventEmitter } from 'node:events';

  export interface GlobalHeader { magicNumber: number; majorVersion: number; minorVersion: number; snapshotLength: number; linkLayerType: number }
  export interface PacketHeader { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }
  export interface Packet { header: PacketHeader; data: Buffer }
  export interface Parser extends EventEmitter { errored: boolean; buffer: Buffer | null }
  /** Anything with on/pause/resume: the parser listens for 'data', 'error' and 'end'. */
  export interface StreamLike { on(event: string, fn: (arg?: unknown) => void): unknown; pause(): void; resume(): void }

  const pcapParser: { parse(input: string | StreamLike): Parser };
  export default pcapParser;
}
