// Framing of the agent protocol, both ways (answers from the upstream agent, requests from
// sandboxes at the agent endpoint): `uint32 length ‖ payload`, read incrementally from an
// untrusted stream with a hard size bound, so a peer can neither make the proxy buffer
// without limit nor confuse one message with the next.
import { uint32 } from '../ssh/wire.js';

/** Frames larger than this are refused: no honest peer sends one (OpenSSH's own bound). */
export const MAX_AGENT_FRAME = 256 * 1024;

export class FrameError extends Error {
  override name = 'FrameError';
}

/** One framed message. */
export function frame(payload: Buffer): Buffer {
  return Buffer.concat([uint32(payload.length), payload]);
}

/**
 * Collects bytes and yields whole payloads. A frame longer than `max` or of length zero
 * is a protocol error (OpenSSH's agent has the same 256 KiB bound); after one, the
 * reader refuses everything, as the stream can no longer be trusted to be aligned.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;
  private broken: FrameError | null = null;
  /** Payload length of the frame being collected, once its header is in. */
  private need: number | null = null;

  constructor(private readonly max = MAX_AGENT_FRAME) {}

  /** Bytes held that are not yet a whole frame (at most max + 4). */
  get buffered(): number {
    return this.have;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.broken) throw this.broken;
    this.chunks.push(chunk);
    this.have += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.need === null) {
        if (this.have < 4) break;
        // Read once per frame; bytes are joined only when the whole frame is there.
        const len = Buffer.concat(this.chunks, this.have).readUInt32BE(0);
        if (len === 0 || len > this.max) {
          this.broken = new FrameError(
            len === 0 ? 'empty frame' : `frame of ${len} bytes exceeds the ${this.max}-byte limit`,
          );
          this.chunks = [];
          this.have = 0;
          throw this.broken;
        }
        this.need = len;
      }
      if (this.have < 4 + this.need) break;
      const all = Buffer.concat(this.chunks, this.have);
      out.push(Buffer.from(all.subarray(4, 4 + this.need)));
      const rest = all.subarray(4 + this.need);
      this.chunks = rest.length ? [rest] : [];
      this.have = rest.length;
      this.need = null;
    }
    return out;
  }
}
