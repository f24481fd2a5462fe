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

/** Reads a request body as text, refusing (413) anything over `limit` bytes without reading it all. */
export async function readBody(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
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
