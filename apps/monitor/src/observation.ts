import type { Notification, Severity } from '@haia/notify';

/** What one check saw about one object: good or bad, with the words to alert with. */
export interface Observation {
  /** Stable key: check and object, such as `guest:102` or `storage:pve1/local-lvm`. */
  key: string;
  ok: boolean;
  severity: Severity;
  title: string;
  body: string;
  fields?: Notification['fields'];
  links?: Notification['links'];
  /**
   * For an object whose alert is firing: whether it is far enough back to count as good (storage a
   * little below its threshold is not yet). Default `ok`; a firing alert whose object is `ok` but not
   * `recovered` keeps firing, so a value hovering at the threshold does not flap.
   */
  recovered?: boolean;
  /**
   * A one-off event (a failed task) rather than a state: notified once when first seen, never
   * resolved, never repeated.
   */
  event?: boolean;
}

/** The result of one run of a check. */
export interface CheckOutcome {
  /** The check's name (`guests`, `nodes`, `ceph`, `storage`, `tasks`). */
  check: string;
  /**
   * Observations of every object the check covers. A stored alert of this check whose key is not
   * among them counts as good (the object is fine or gone), unless it is in `unknown`.
   */
  observations: Observation[];
  /** Keys whose object could not be seen this time (a storage gone unavailable): left as they are. */
  unknown?: readonly string[];
}
