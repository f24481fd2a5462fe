import type { HeaderLookup } from './openai-error-mapping.js';

/** A response whose body is read as text, piece by piece or whole. */
export interface TextResponse {
  status: number;
  headers: HeaderLookup;
  /** The next decoded piece of the body; `undefined` at its end. */
  read(): Promise<string | undefined>;
  /** The whole (rest of the) body. */
  text(): Promise<string>;
  /** Stops reading and closes the connection if the body is not finished. */
  close(): void;
}

/** One POST with a JSON body; rejects only when no response came (refused, reset, aborted). */
export type PostJson = (
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  options: PostOptions,
) => Promise<TextResponse>;

/** How long a POST may wait. */
export interface PostOptions {
  /**
   * The response headers come only with the finished answer (a non-streamed completion): no limit
   * on waiting for them (undici's default is 300 s; a slow local model can take longer). The
   * caller's signal and `createModel`'s `timeoutMs` still apply.
   */
  headersComeLate: boolean;
}

/** POST over a `fetch` (one given to `createModel`, e.g. for tests or a custom agent). */
export function postWithFetch(fetcher: typeof globalThis.fetch): PostJson {
  return async (url, headers, body, signal) => {
    const response = await fetcher(url, { method: 'POST', headers, body, signal });
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    let finished = reader === undefined;
    const read = async (): Promise<string | undefined> => {
      if (finished || !reader) return undefined;
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        const tail = decoder.decode();
        return tail === '' ? undefined : tail;
      }
      return decoder.decode(value, { stream: true });
    };
    return {
      status: response.status,
      headers: response.headers,
      read,
      text: async () => {
        let text = '';
        for (let piece = await read(); piece !== undefined; piece = await read()) text += piece;
        return text;
      },
      close: () => {
        if (!finished) reader?.cancel().catch(() => {});
        finished = true;
      },
    };
  };
}
