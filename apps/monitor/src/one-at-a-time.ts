/** Runs the tasks given to it one after the other, each once the one before has settled. */
export type OneAtATime = <T>(task: () => Promise<T>) => Promise<T>;

/**
 * A runner that never overlaps two of its tasks (a failed task does not stop the next one), so that
 * read-modify-write steps on one row never race.
 */
export function oneAtATime(): OneAtATime {
  let serial: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>) => {
    const run = serial.then(task, task);
    serial = run.catch(() => undefined);
    return run;
  };
}
