/** Settles with `promise`, or rejects with the signal's reason as soon as it fires. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * `value` itself when it is not a promise (no listener on `signal`, no promise of ours);
 * otherwise {@link untilAborted}. For steps that usually answer at once, like a fixed tool list.
 */
export function settledOrUntilAborted<T>(value: T | Promise<T>, signal: AbortSignal): T | Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
    ? untilAborted(Promise.resolve(value), signal)
    : value;
}
