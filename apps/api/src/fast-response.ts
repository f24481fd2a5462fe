import { FastResponse } from 'srvx';

/** What {@link fastResponse} takes besides the body. */
export interface FastResponseInit {
  status?: number;
  headers: Record<string, string>;
}

/**
 * A `Response` that the Node adapter (srvx, under @elysiajs/node) writes straight to the socket: a
 * string body goes out as it is with its `content-length` (one write, no chunked encoding), with no
 * web `ReadableStream` in between. Anywhere else (`app.handle()` in tests) it is a standard
 * `Response`, built lazily the first time one of its standard members is read.
 */
export function fastResponse(body: string | null, init: FastResponseInit): Response {
  return new FastResponse(body, init) as unknown as Response;
}

/** The body of a server-sent events response, fed with ready-made frames. */
export interface EventStreamBody {
  /** Queues text to send; ignored once the stream has ended or the client has gone. */
  write(text: string): void;
  /** Ends the body after what was written. */
  end(): void;
  /** False once the body has ended or the client has gone. */
  readonly open: boolean;
  /** The streaming response with `headers`. */
  response(headers: Record<string, string>): Response;
}

/** Where srvx pipes a body: the Node `ServerResponse`, or a `PassThrough` behind a web `Response`. */
interface PipeTarget {
  write(chunk: string): unknown;
  end(): unknown;
  once(event: 'close', listener: () => void): unknown;
  readonly writableEnded?: boolean;
}

/**
 * A server-sent events body that srvx pipes into the socket: an object with only `pipe()`, which
 * srvx hands the Node `ServerResponse` (after writing the head), so every flush is one direct
 * `write()` of the frames as a string: no stream of ours in between, no `pipeline()` set-up, no
 * `TextEncoder` copy. Under `app.handle()` srvx pipes it into a `PassThrough` behind a standard
 * `Response` instead. `onCancel` runs once when the client goes away before `end()`.
 */
export function createEventStreamBody(onCancel: () => void): EventStreamBody {
  let open = true;
  let target: PipeTarget | undefined;
  let early = '';
  const cancel = () => {
    if (!open) return;
    open = false;
    onCancel();
  };
  const source = {
    pipe(destination: PipeTarget) {
      target = destination;
      destination.once('close', () => {
        if (!destination.writableEnded) cancel();
      });
      if (early !== '') destination.write(early);
      early = '';
      if (!open) destination.end();
      return destination;
    },
    // srvx calls `abort` when the `PassThrough` of a web `Response` view closes.
    abort: cancel,
  };
  return {
    write(text) {
      if (!open) return;
      if (target) target.write(text);
      else early += text;
    },
    end() {
      if (!open) return;
      open = false;
      target?.end();
    },
    get open() {
      return open;
    },
    response(headers) {
      return new FastResponse(source as unknown as ReadableStream, {
        status: 200,
        headers,
      }) as unknown as Response;
    },
  };
}
