// SSH wire primitives (RFC 4251 §5): every read is bounds-checked, because agent
// answers and request bodies are untrusted input.

export class WireError extends Error {
  override name = 'WireError';
}

export class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private take(n: number, what: string): Buffer {
    if (n > this.remaining) {
      throw new WireError(`${what}: needs ${n} bytes, only ${this.remaining} left`);
    }
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  byte(what = 'byte'): number {
    return this.take(1, what)[0] as number;
  }

  uint32(what = 'uint32'): number {
    return this.take(4, what).readUInt32BE(0);
  }

  /** A length-prefixed byte string. */
  string(what = 'string'): Buffer {
    const len = this.uint32(`${what} length`);
    return this.take(len, what);
  }

  /** A length-prefixed string that must be printable ASCII (algorithm names and such). */
  name(what = 'name'): string {
    const raw = this.string(what);
    for (const b of raw) {
      if (b < 0x21 || b > 0x7e) throw new WireError(`${what}: not a printable name`);
    }
    return raw.toString('latin1');
  }

  /** An mpint as an unsigned magnitude without leading zero bytes; negatives are refused. */
  mpint(what = 'mpint'): Buffer {
    const raw = this.string(what);
    if (raw.length > 0 && ((raw[0] as number) & 0x80) !== 0) {
      throw new WireError(`${what}: negative mpint`);
    }
    let i = 0;
    while (i < raw.length && raw[i] === 0) i++;
    return raw.subarray(i);
  }

  raw(n: number, what = 'bytes'): Buffer {
    return this.take(n, what);
  }

  rest(): Buffer {
    return this.take(this.remaining, 'rest');
  }

  /** Trailing bytes after a complete structure are a protocol violation. */
  end(what = 'message'): void {
    if (this.remaining !== 0) {
      throw new WireError(`${what}: ${this.remaining} unexpected trailing bytes`);
    }
  }
}

export function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function string(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([uint32(body.length), body]);
}

export function byte(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}
