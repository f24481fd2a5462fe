import { StringDecoder } from 'node:string_decoder';
import { type Dispatcher, getGlobalDispatcher } from 'undici';
import { abortedError } from '../abort.js';
import type { PostJson, PostOptions, TextResponse } from './http-response.js';
import type { HeaderLookup } from './openai-error-mapping.js';

/** A parsed URL's parts the dispatcher needs, kept per URL string (a model posts to one URL). */
interface Target {
  origin: string;
  path: string;
}

const targets = new Map<string, Target>();

function targetOf(url: string): Target {
  let target = targets.get(url);
  if (target === undefined) {
    const parsed = new URL(url);
    target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    // A handful of base URLs per process; bounded anyway.
    if (targets.size >= 64) targets.clear();
    targets.set(url, target);
  }
  return target;
}

/** A raw header name or value: bytes from undici's parser (a string from some interceptors). */
type RawHeader = Buffer | string;

const headerText = (raw: RawHeader): string => (typeof raw === 'string' ? raw : raw.toString('latin1'));

/** Response headers as undici hands them over (name, value, name, value…), looked up lazily. */
class RawHeaders implements HeaderLookup {
  constructor(private readonly raw: readonly RawHeader[]) {}

  get(name: string): string | null {
    const wanted = name.toLowerCase();
    let found: string | null = null;
    for (let index = 0; index + 1 < this.raw.length; index += 2) {
      if (headerText(this.raw[index] as RawHeader).toLowerCase() !== wanted) continue;
      const value = headerText(this.raw[index + 1] as RawHeader);
      found = found === null ? value : `${found}, ${value}`;
    }
    return found;
  }
}

/**
 * One POST through the dispatcher's handler interface: the response body arrives as buffers in a
 * queue that {@link TextResponse.read} and {@link TextResponse.text} drain, with no Node stream,
 * no per-request URL parse and no request wrapper in between.
 */
class DispatchedPost implements Dispatcher.DispatchHandlers, TextResponse {
  status = 0;
  headers: HeaderLookup = new RawHeaders([]);
  private readonly pieces: Buffer[] = [];
  private decoder: StringDecoder | undefined;
  private ended = false;
  private failure: Error | undefined;
  private abortRequest: ((reason?: Error) => void) | undefined;
  /** The read waiting for the next piece (or the end, or a failure). */
  private waiting: { resolve: () => void } | undefined;
  private settleHeaders: { resolve: (response: TextResponse) => void; reject: (error: Error) => void };
  readonly headersArrived: Promise<TextResponse>;

  constructor(private readonly signal: AbortSignal) {
    let settle!: typeof this.settleHeaders;
    this.headersArrived = new Promise<TextResponse>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.settleHeaders = settle;
  }

  readonly onAbort = (): void => {
    this.abortRequest?.(abortReason(this.signal));
  };

  onConnect(abort: (reason?: Error) => void): void {
    if (this.signal.aborted) {
      abort(abortReason(this.signal));
      return;
    }
    this.abortRequest = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.status = statusCode;
    this.headers = new RawHeaders(rawHeaders);
    this.settleHeaders.resolve(this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.pieces.push(chunk);
    this.wake();
    return true;
  }

  onComplete(): void {
    this.ended = true;
    this.detach();
    this.wake();
  }

  onError(error: Error): void {
    this.failure = error;
    this.ended = true;
    this.detach();
    this.settleHeaders.reject(error);
    this.wake();
  }

  read(): Promise<string | undefined> {
    if (this.pieces.length > 0) return Promise.resolve(this.decode(this.takeAll()));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(this.finishDecoding());
    return new Promise<void>((resolve) => {
      this.waiting = { resolve };
    }).then(() => this.read());
  }

  text(): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) {
      const rest = this.decode(this.takeAll()) + (this.finishDecoding() ?? '');
      return Promise.resolve(rest);
    }
    return new Promise<void>((resolve) => {
      this.waiting = { resolve };
    }).then(() => this.text());
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.detach();
    this.abortRequest?.(new Error('the response body was closed before its end'));
  }

  private takeAll(): Buffer {
    const all = this.pieces.length === 1 ? (this.pieces[0] as Buffer) : Buffer.concat(this.pieces);
    this.pieces.length = 0;
    return all;
  }

  private decode(bytes: Buffer): string {
    // A whole body in one piece (the usual JSON answer) needs no decoder across pieces.
    if (this.ended && this.decoder === undefined) return bytes.toString('utf8');
    this.decoder ??= new StringDecoder('utf8');
    return this.decoder.write(bytes);
  }

  private finishDecoding(): string | undefined {
    const tail = this.decoder?.end();
    return tail === undefined || tail === '' ? undefined : tail;
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve();
  }

  private detach(): void {
    this.signal.removeEventListener('abort', this.onAbort);
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : abortedError();
}

/**
 * POST through the process-wide undici dispatcher (so a `setGlobalDispatcher` proxy applies),
 * with a handler of its own instead of undici's `request`: the body is read as buffers, without
 * the Node stream, request wrapper and URL parse `request` makes for every call (the package
 * README's benchmark section says how much that saves).
 */
export const postWithUndici: PostJson = (url, headers, body, signal, options: PostOptions) => {
  const target = targetOf(url);
  const post = new DispatchedPost(signal);
  if (signal.aborted) return Promise.reject(abortReason(signal));
  signal.addEventListener('abort', post.onAbort);
  try {
    getGlobalDispatcher().dispatch(
      {
        origin: target.origin,
        path: target.path,
        method: 'POST',
        headers,
        body,
        ...(options.headersComeLate ? { headersTimeout: 0 } : {}),
      },
      post,
    );
  } catch (error) {
    post.onError(error as Error);
  }
  return post.headersArrived;
};
