import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the heap grow past the live data between two full collections, in percent:
 * 100 doubles it at most. On a machine with a few GiB free V8 allows up to 4x, so a server whose
 * live heap is 30 MiB sat at 200-380 MiB of RSS under load, nearly all of it garbage waiting for
 * the next full collection; at 2x it stays around 150-170 MiB for about 7 % more CPU under full
 * load (bench/README.md). 2x is the growth V8 itself uses on memory-constrained devices.
 */
export const HEAP_GROWING_PERCENT = 100;

const FLAG = '--heap-growing-percent';

/**
 * The V8 flag that bounds heap growth, or undefined when node was started with its own
 * `--heap-growing-percent` (`node --heap-growing-percent=300 dist/main.js`): an operator's choice
 * wins. Node refuses V8 flags like this one in `NODE_OPTIONS`, so the command line is the only place.
 */
export function heapGrowthFlag(execArgv: readonly string[]): string | undefined {
  if (execArgv.some((option) => option === FLAG || option.startsWith(`${FLAG}=`))) return undefined;
  return `${FLAG}=${HEAP_GROWING_PERCENT}`;
}

/**
 * Bounds V8's heap growth for this process (see {@link HEAP_GROWING_PERCENT}). The flag is read at
 * every full collection, so setting it at start-up takes effect for the whole run.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): string | undefined {
  const flag = heapGrowthFlag(execArgv);
  if (flag) setFlagsFromString(flag);
  return flag;
}
