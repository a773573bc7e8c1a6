/**
 * Reading HTTP answers (Docker, VSD) with a size limit: a peer that misbehaves, or a
 * proxy in between, must not make the plugin buffer an unbounded body in memory.
 */
import { StringDecoder } from "node:string_decoder";

export class BodyTooLargeError extends Error {
  constructor(
    readonly what: string,
    readonly limitBytes: number,
  ) {
    super(`${what}: the answer is larger than ${limitBytes} bytes, the most this plugin reads; refusing the rest`);
    this.name = "BodyTooLargeError";
  }
}

type Body = AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => unknown };

/** The body as UTF-8 text, or BodyTooLargeError past maxBytes (the rest is not read). */
export async function readBounded(body: Body, maxBytes: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      body.destroy?.();
      throw new BodyTooLargeError(what, maxBytes);
    }
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  }
  return Buffer.concat(chunks, size).toString("utf8");
}

/**
 * Splits a streamed body into lines. Multi-byte UTF-8 characters cut across chunks are
 * decoded whole (a StringDecoder keeps the partial bytes), and a line longer than
 * maxLineBytes is an error rather than an ever-growing buffer.
 */
export async function* lines(
  body: AsyncIterable<Uint8Array>,
  maxLineBytes: number,
  what: string,
): AsyncGenerator<string> {
  const decoder = new StringDecoder("utf8");
  let buf = "";
  for await (const chunk of body) {
    buf += decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
    if (buf.length * 3 > maxLineBytes && Buffer.byteLength(buf) > maxLineBytes)
      throw new BodyTooLargeError(`${what} (one line)`, maxLineBytes);
  }
  buf += decoder.end();
  if (buf) yield buf;
}
