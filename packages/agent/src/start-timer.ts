/**
 * Starts a timer that calls `onTimeout` once after `ms` milliseconds and returns the function that
 * cancels it. The agent bounds each toolset's `listTools` with one; tests inject their own to fire
 * it when they choose instead of waiting.
 */
export type StartTimer = (ms: number, onTimeout: () => void) => () => void;

/** The real {@link StartTimer}: `setTimeout`, unreferenced so that it never keeps a process alive. */
export const startRealTimer: StartTimer = (ms, onTimeout) => {
  const timer = setTimeout(onTimeout, ms);
  timer.unref?.();
  return () => clearTimeout(timer);
};
