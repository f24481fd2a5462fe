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
