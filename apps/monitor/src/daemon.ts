import type { MonitorConfig } from '@haia/config';
import type { Logger } from 'pino';
import { AsyncTask, SimpleIntervalJob, ToadScheduler } from 'toad-scheduler';
import type { MonitorMetrics } from './metrics.js';
import type { CheckName, Monitor } from './monitor.js';
import type { MonitorStore } from './monitor-store.js';

/** Options of {@link startDaemon}. */
export interface DaemonOptions {
  monitor: Monitor;
  store: MonitorStore;
  intervals: Pick<MonitorConfig, 'vmIntervalMs' | 'cephIntervalMs' | 'storageIntervalMs'>;
  logger: Logger;
  metrics: MonitorMetrics;
  /** How often the quiet-hours digest is looked at (default 60 s). */
  digestIntervalMs?: number;
  /** How long `stop()` lets running checks finish before aborting them (default 10 s). */
  stopTimeoutMs?: number;
}

/** The running schedule. */
export interface Daemon {
  /** Whether this instance held the leader lock at its last tick. */
  isLeader(): boolean;
  /** Stops the schedule; running checks finish or are aborted within `stopTimeoutMs`. */
  stop(): Promise<void>;
}

/**
 * Schedules every check as its own job (toad-scheduler, `preventOverrun`), each run only when this
 * instance is the leader.
 */
export function startDaemon(options: DaemonOptions): Daemon {
  const { monitor, store, logger, metrics } = options;
  const scheduler = new ToadScheduler();
  const stopping = new AbortController();
  const running = new Set<Promise<unknown>>();
  let leader = false;

  const asLeader = async (work: () => Promise<void>) => {
    if (stopping.signal.aborted) return;
    const isLeader = await store.tryLeadership().catch((error: Error) => {
      logger.error({ error: error.message }, 'could not check the leader lock');
      return false;
    });
    if (isLeader !== leader)
      logger.info(
        { leader: isLeader },
        isLeader ? 'this instance now runs the checks' : 'another instance runs the checks',
      );
    leader = isLeader;
    metrics.leader.set(isLeader ? 1 : 0);
    if (!isLeader) return;
    const run = work();
    running.add(run);
    try {
      await run;
    } finally {
      running.delete(run);
    }
  };

  const schedule = (id: string, milliseconds: number, work: () => Promise<void>) => {
    const task = new AsyncTask(
      id,
      () => asLeader(work),
      (error) => logger.error({ job: id, error: error.message }, 'job failed'),
    );
    scheduler.addSimpleIntervalJob(
      new SimpleIntervalJob({ milliseconds, runImmediately: true }, task, { id, preventOverrun: true }),
    );
  };

  const intervals: Record<CheckName, number> = {
    guests: options.intervals.vmIntervalMs,
    nodes: options.intervals.vmIntervalMs,
    tasks: options.intervals.vmIntervalMs,
    ceph: options.intervals.cephIntervalMs,
    storage: options.intervals.storageIntervalMs,
  };
  for (const [name, milliseconds] of Object.entries(intervals) as Array<[CheckName, number]>) {
    schedule(name, milliseconds, () => monitor.runCheck(name, stopping.signal));
  }
  schedule('digest', options.digestIntervalMs ?? 60_000, () => monitor.flushDigest(stopping.signal));
  logger.info({ intervals }, 'monitor scheduled');

  return {
    isLeader: () => leader,
    async stop() {
      scheduler.stop();
      const timeout = options.stopTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          stopping.abort(new Error('the monitor is stopping'));
          resolve();
        }, timeout);
        timer.unref();
      });
      await Promise.race([Promise.allSettled([...running]), expired]);
      stopping.abort(new Error('the monitor is stopping'));
      await Promise.allSettled([...running]);
      clearTimeout(timer);
    },
  };
}
