import type { Notifier } from '@haia/notify';

/** One channel's answer to the test message. */
export interface TestNotifyResult {
  channel: string;
  ok: boolean;
  error?: string;
}

/** Sends one test message to every channel (`haia-monitor --test-notify`), so users can check their setup. */
export async function sendTestNotifications(
  notifiers: readonly Notifier[],
  signal?: AbortSignal,
): Promise<TestNotifyResult[]> {
  const results = await Promise.allSettled(
    notifiers.map((notifier) =>
      notifier.send(
        {
          title: 'HAIA monitor test',
          body: 'This is a test message from haia-monitor: this channel is set up correctly.',
          severity: 'info',
          state: 'firing',
        },
        signal ? { signal } : {},
      ),
    ),
  );
  return results.map((result, index) => {
    const channel = notifiers[index]?.channel ?? 'unknown';
    return result.status === 'fulfilled'
      ? { channel, ok: true }
      : { channel, ok: false, error: (result.reason as Error).message };
  });
}
