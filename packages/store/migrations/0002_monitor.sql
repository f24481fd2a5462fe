-- HAIA monitor state: one row per alert key, small per-check memories, and notifications held back
-- by quiet hours until their digest.

create table monitor_alerts (
  -- check and object, such as guest:102 or storage:pve1/local-lvm
  key text primary key,
  check_name text not null,
  status text not null check (status in ('pending', 'firing', 'resolved')),
  severity text not null check (severity in ('critical', 'warning', 'info')),
  title text not null,
  body text not null,
  fields jsonb not null default '[]'::jsonb,
  links jsonb not null default '[]'::jsonb,
  -- a one-off event (a failed task): notified once, never resolved or repeated
  event boolean not null default false,
  consecutive_bad integer not null,
  consecutive_good integer not null,
  first_bad_at timestamptz,
  firing_since timestamptz,
  last_notified_at timestamptz,
  resolved_at timestamptz,
  updated_at timestamptz not null
);

-- loadAlerts(check) and activeAlerts()
create index monitor_alerts_check on monitor_alerts (check_name);
create index monitor_alerts_active on monitor_alerts (status) where status <> 'resolved';

create table monitor_state (
  key text primary key,
  value jsonb not null,
  updated_at timestamptz not null
);

create table monitor_held_notifications (
  id bigint generated always as identity primary key,
  alert_key text not null,
  kind text not null,
  notification jsonb not null,
  held_at timestamptz not null
);
