import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The monitor's Prometheus metrics, on their own registry. */
export interface MonitorMetrics {
  registry: Registry;
  checks: Counter<'check' | 'outcome'>;
  checkDuration: Histogram<'check'>;
  alertsFiring: Gauge<'check'>;
  notifications: Counter<'channel' | 'outcome'>;
  leader: Gauge;
}

/** Creates the metrics; one set per monitor instance. */
export function createMonitorMetrics(): MonitorMetrics {
  const registry = new Registry();
  return {
    registry,
    checks: new Counter({
      name: 'haia_monitor_checks_total',
      help: 'Check runs by check and outcome',
      labelNames: ['check', 'outcome'],
      registers: [registry],
    }),
    checkDuration: new Histogram({
      name: 'haia_monitor_check_duration_seconds',
      help: 'Duration of check runs',
      labelNames: ['check'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    alertsFiring: new Gauge({
      name: 'haia_monitor_alerts_firing',
      help: 'Alerts currently firing, by check',
      labelNames: ['check'],
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'haia_monitor_notifications_total',
      help: 'Notifications by channel and outcome (sent, failed, held)',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'haia_monitor_leader',
      help: '1 while this instance runs the checks',
      registers: [registry],
    }),
  };
}
