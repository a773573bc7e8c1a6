/**
 * Incremental framing for OVSDB's JSON-RPC stream (RFC 7047; vrs-ovsdb.md §2.1).
 *
 * ovsdb-server writes JSON-RPC 1.0 messages back to back with no delimiter: no
 * newline, no length prefix. A read may hold half a message, or several. This
 * parser is written by hand because no maintained npm library speaks OVSDB's
 * undelimited JSON-RPC (the JSON-RPC packages assume HTTP, newline- or
 * length-delimited framing, and the streaming JSON parsers are either
 * unmaintained or build values token by token, which is far slower than
 * JSON.parse on a complete message).
 *
 * How it works: it scans bytes, tracking only whether it is inside a string
 * (and after a backslash in one) and the bracket depth. When the depth of a
 * top-level object/array returns to zero, the bytes of that message are handed
 * to JSON.parse. It scans bytes, not characters, so a multi-byte UTF-8
 * character split across two reads is harmless: every structural character is
 * ASCII and no byte of a multi-byte UTF-8 sequence is below 0x80.
 */
import { OvsdbProtocolError } from "./errors.js";

const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACE = 0x7d; // }
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACKET = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class JsonStreamParser {
  /** Bytes of the message in progress, from its first byte. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private inMessage = false;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  /** True when bytes of an incomplete message are buffered. */
  get pending(): boolean {
    return this.inMessage;
  }

  /**
   * Feeds the next bytes of the stream; returns every message completed by them,
   * in order. Throws OvsdbProtocolError on bytes that are not a JSON object or
   * array, or on a message larger than maxMessageBytes; after that the parser
   * (and the stream) should be discarded.
   */
  push(chunk: Buffer | Uint8Array | string): unknown[] {
    const buf =
      typeof chunk === "string"
        ? Buffer.from(chunk, "utf8")
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: unknown[] = [];
    let start = 0;
    const n = buf.length;
    for (let i = 0; i < n; i++) {
      const b = buf[i]!;
      if (!this.inMessage) {
        if (isWhitespace(b)) continue;
        if (b !== OPEN_BRACE && b !== OPEN_BRACKET) {
          throw new OvsdbProtocolError(
            `unexpected byte 0x${b.toString(16).padStart(2, "0")} between JSON-RPC messages`,
          );
        }
        this.inMessage = true;
        this.depth = 1;
        start = i;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        continue;
      }
      if (b === QUOTE) this.inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          const tail = buf.subarray(start, i + 1);
          const bytes =
            this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail], this.partsBytes + tail.length);
          this.parts = [];
          this.partsBytes = 0;
          this.inMessage = false;
          start = i + 1;
          out.push(parseMessage(bytes));
        }
      }
    }
    if (this.inMessage) {
      const rest = buf.subarray(start);
      if (rest.length > 0) {
        this.parts.push(rest);
        this.partsBytes += rest.length;
      }
      if (this.partsBytes > this.maxMessageBytes) {
        throw new OvsdbProtocolError(`JSON-RPC message larger than ${this.maxMessageBytes} bytes`);
      }
    }
    return out;
  }

  /** Drops any partial message (e.g. on a new connection). */
  reset(): void {
    this.parts = [];
    this.partsBytes = 0;
    this.inMessage = false;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }
}

function parseMessage(bytes: Buffer): unknown {
  const text = bytes.toString("utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    const snippet = text.length > 120 ? `${text.slice(0, 120)}…` : text;
    throw new OvsdbProtocolError(`invalid JSON in JSON-RPC message (${(err as Error).message}): ${snippet}`);
  }
}
