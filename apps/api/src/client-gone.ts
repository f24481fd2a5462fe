import type { ServerResponse } from 'node:http';

/** What srvx (under @elysiajs/node) puts on the requests it makes from Node's. */
interface NodeRuntimeRequest {
  runtime?: { node?: { res?: ServerResponse } };
}

const NOT_WATCHING = () => {};

/**
 * Calls `onGone` once when the client goes away before the response has ended, and returns the
 * function that stops watching. Under the Node adapter it listens to the `ServerResponse` itself:
 * reading `request.signal` there would make srvx build an `AbortController` and a listener of its
 * own for every request, only to forward the same `close`. Anywhere else (`app.handle()`) it
 * watches `request.signal`.
 */
export function watchClientGone(request: Request, onGone: () => void): () => void {
  const response = (request as NodeRuntimeRequest).runtime?.node?.res;
  if (response) {
    if (response.destroyed) {
      if (!response.writableEnded) onGone();
      return NOT_WATCHING;
    }
    const onClose = () => {
      if (!response.writableEnded) onGone();
    };
    response.once('close', onClose);
    return () => response.off('close', onClose);
  }
  const signal = request.signal;
  if (signal.aborted) {
    onGone();
    return NOT_WATCHING;
  }
  signal.addEventListener('abort', onGone, { once: true });
  return () => signal.removeEventListener('abort', onGone);
}
