import type { AlertRow } from '@haia/store';

/** Where an alert is in its life. */
export type AlertStatus = AlertRow['status'];

/** One alert's persisted state (one row per key in `@haia/store`'s `monitor_alerts`). */
export type AlertRecord = AlertRow;
