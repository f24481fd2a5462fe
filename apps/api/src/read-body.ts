import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.js';

/** The default body limit: 16 MiB, room for a few base64 images. */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

function tooLarge(limit: number): ApiError {
  return new ApiError({
    status: 413,
    message: `The request body is larger than HAIA's limit of ${limit} bytes. Send fewer or smaller images, or a shorter history.`,
    code: 'request_too_large',
  });
}

/** The Node request under srvx's `Request` (`request.runtime.node.req`), when there is one. */
function nodeRequestOf(request: Request): IncomingMessage | undefined {
  const runtime = (request as { runtime?: { name?: string; node?: { req?: IncomingMessage } } }).runtime;
  return runtime?.name === 'node' ? runtime.node?.req : undefined;
}

function joined(parts: Buffer[], size: number): string {
  if (parts.length === 1) return (parts[0] as Buffer).toString('utf8');
  return Buffer.concat(parts, size).toString('utf8');
}

/** Reads a Node request's body: no web `ReadableStream` (`Readable.toWeb`) on the way. */
function readNodeBody(incoming: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        cleanup();
        // Drain the rest without keeping it, so the connection can still carry the 413.
        incoming.resume();
        reject(tooLarge(limit));
        return;
      }
      parts.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(joined(parts, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      if (incoming.complete) return;
      cleanup();
      reject(new Error('The client closed the connection before sending the whole body.'));
    };
    incoming.on('data', onData);
    incoming.once('end', onEnd);
    incoming.once('error', onError);
    incoming.once('close', onClose);
  });
}

/** Reads a request body as text, refusing (413) anything over `limit` bytes without reading it all. */
export async function readBody(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  const incoming = nodeRequestOf(request);
  if (incoming && !incoming.readableDidRead && incoming.readable) return readNodeBody(incoming, limit);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    parts.push(value);
  }
  if (parts.length === 1) {
    const only = parts[0] as Uint8Array;
    return Buffer.from(only.buffer, only.byteOffset, only.byteLength).toString('utf8');
  }
  return Buffer.concat(parts, size).toString('utf8');
}
