/** Why the core aborted an attempt; kept as the signal's `reason`. */
export class TimeoutReason extends Error {
  override readonly name = 'TimeoutReason';
  constructor(
    readonly kind: 'first-token' | 'total',
    readonly ms: number,
  ) {
    super(kind === 'total' ? `no complete answer within ${ms} ms` : `no first token within ${ms} ms`);
  }
}

/** The `AbortError` a signal aborted without a reason stands for (what `AbortController.abort()` gives). */
export function abortedError(): Error {
  const error = new Error('This operation was aborted');
  error.name = 'AbortError';
  return error;
}

/** Waits `ms`, resolving early when `signal` aborts (the caller checks `signal.aborted`). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

const NOTHING_TO_UNLINK = () => {};

/**
 * Aborts `target` (with the same reason) when `source` aborts, and returns the function that
 * removes the link; call it when the work ends. Used instead of `AbortSignal.any`: Node keeps an
 * `AbortSignal.any` signal that has an abort listener in a process-wide set until it aborts, and
 * vendor SDKs add a listener to the signal they are given and never remove it, so every call that
 * finished normally stayed in memory for good.
 */
export function linkAbort(source: AbortSignal, target: Pick<AbortController, 'abort'>): () => void {
  if (source.aborted) {
    target.abort(source.reason);
    return NOTHING_TO_UNLINK;
  }
  const forward = () => target.abort(source.reason);
  source.addEventListener('abort', forward, { once: true });
  return () => source.removeEventListener('abort', forward);
}
