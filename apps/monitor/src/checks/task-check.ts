import type { FailedTasks, Task } from '@haia/proxmox';
import type { CheckOutcome } from '../observation.js';

const START_TASKS: Record<string, string> = { qmstart: 'VM', vzstart: 'CT' };

/** Failed tasks since the last run, each notified once; a failed start names the guest. */
export function checkTasks(failed: FailedTasks): CheckOutcome {
  return {
    check: 'tasks',
    observations: failed.tasks.map((task) => ({
      key: `task:${task.upid}`,
      ok: false,
      event: true,
      severity: 'warning',
      title: taskTitle(task),
      body: `Task ${task.type}${task.id ? ` ${task.id}` : ''} on ${task.node} by ${task.user} ended with: ${task.status ?? 'unknown status'}.`,
      fields: [
        { name: 'Node', value: task.node },
        { name: 'Started', value: task.startedAt.toISOString() },
      ],
    })),
  };
}

function taskTitle(task: Task): string {
  const kind = START_TASKS[task.type];
  if (kind) return `${kind} ${task.id} failed to start`;
  return `Task ${task.type}${task.id ? ` ${task.id}` : ''} failed on ${task.node}`;
}
