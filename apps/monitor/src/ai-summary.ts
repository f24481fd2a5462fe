import { createAgent, type Toolset } from '@haia/agent';
import type { LanguageModel, Logger } from '@haia/llm';
import type { AlertSummarizer } from './monitor.js';

const INSTRUCTIONS = `You are HAIA, a homelab assistant, writing the note under a monitoring alert.
Use the read-only Proxmox tools if they help. Answer in at most two short sentences: the likely cause, then
the next step the admin should take (a concrete command or place in the Proxmox UI). Never claim you changed
anything. If the tools show nothing useful, say what to check first.`;

/** Options of {@link createAlertSummarizer}. */
export interface AlertSummarizerOptions {
  model: LanguageModel;
  /** Usually the Proxmox toolset. */
  toolsets: readonly Toolset<undefined>[];
  logger: Logger;
}

/**
 * Explains a firing alert in two sentences with the agent and the Proxmox tools
 * (`HAIA_MONITOR_AI_SUMMARY=true`). The monitor bounds it to 20 s and sends the alert without it on
 * failure.
 */
export function createAlertSummarizer(options: AlertSummarizerOptions): AlertSummarizer {
  const agent = createAgent<undefined>({
    model: options.model,
    instructions: INSTRUCTIONS,
    toolsets: [...options.toolsets],
    limits: { maxSteps: 4, toolTimeoutMs: 8000 },
    logger: options.logger,
  });
  return async (notification, signal) => {
    const fields = (notification.fields ?? []).map((field) => `${field.name}: ${field.value}`).join('\n');
    const result = await agent.generate({
      messages: [
        {
          role: 'user',
          content: `Alert (${notification.severity}): ${notification.title}\n${notification.body}${fields ? `\n${fields}` : ''}`,
        },
      ],
      signal,
    });
    const text = result.text.trim();
    return text.length > 0 ? text : undefined;
  };
}
