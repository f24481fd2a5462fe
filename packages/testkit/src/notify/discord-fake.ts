import { type FakeServer, startFakeServer } from '../fake-server.js';
import { empty, json, type Reply } from '../replies.js';

/** A message the fake Discord webhook accepted. */
export interface DiscordFakeMessage {
  id: string;
  content: string | undefined;
  embeds: Array<Record<string, unknown>>;
}

/** A fake Discord webhook with Discord's limits, error codes and rate-limit answers. */
export interface DiscordFake {
  /** The webhook URL to configure (DISCORD_WEBHOOK_URL). */
  webhookUrl: string;
  server: FakeServer;
  messages: DiscordFakeMessage[];
  /** The next `count` sends get 429 with `retry_after` (seconds) in body and headers. */
  rateLimitNext(retryAfterSeconds: number, count?: number): void;
  failNext(status: number): void;
  /** The webhook is deleted: every later send gets 404 Unknown Webhook. */
  deleteWebhook(): void;
  close(): Promise<void>;
}

const WEBHOOK_ID = '1234567890';
const WEBHOOK_TOKEN = 'fake-webhook-token';

function invalidForm(field: string, message: string): Reply {
  return json(
    {
      code: 50035,
      message: 'Invalid Form Body',
      errors: { [field]: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message }] } },
    },
    { status: 400 },
  );
}

function limitProblem(body: Record<string, unknown>): Reply | undefined {
  const content = body.content;
  const embeds = Array.isArray(body.embeds) ? (body.embeds as Array<Record<string, unknown>>) : [];
  if (typeof content === 'string' && content.length > 2000)
    return invalidForm('content', 'Must be 2000 or fewer in length.');
  if (embeds.length > 10) return invalidForm('embeds', 'Must be 10 or fewer in length.');
  for (const [index, embed] of embeds.entries()) {
    const title = String(embed.title ?? '');
    const description = String(embed.description ?? '');
    const fields = Array.isArray(embed.fields)
      ? (embed.fields as Array<{ name?: string; value?: string }>)
      : [];
    if (title.length > 256) return invalidForm(`embeds.${index}.title`, 'Must be 256 or fewer in length.');
    if (description.length > 4096)
      return invalidForm(`embeds.${index}.description`, 'Must be 4096 or fewer in length.');
    if (fields.length > 25) return invalidForm(`embeds.${index}.fields`, 'Must be 25 or fewer in length.');
    let total = title.length + description.length;
    for (const field of fields) {
      if (!field.name || !field.value) return invalidForm(`embeds.${index}.fields`, 'This field is required');
      if (field.name.length > 256 || field.value.length > 1024)
        return invalidForm(`embeds.${index}.fields`, 'Too long.');
      total += field.name.length + field.value.length;
    }
    if (total > 6000) return invalidForm('embeds', 'Embed size exceeds maximum size of 6000');
  }
  if ((typeof content !== 'string' || content.length === 0) && embeds.length === 0) {
    return json({ message: 'Cannot send an empty message', code: 50006 }, { status: 400 });
  }
  return undefined;
}

/** Starts a fake Discord webhook endpoint. */
export async function startDiscordFake(): Promise<DiscordFake> {
  const server = await startFakeServer();
  const messages: DiscordFakeMessage[] = [];
  const scripted: Reply[] = [];
  let deleted = false;
  let nextId = 1n;

  server.route('POST', /^\/api\/webhooks\/[^/]+\/[^/]+$/, (request) => {
    const [, , , id, token] = request.path.split('/');
    if (deleted || id !== WEBHOOK_ID)
      return json({ message: 'Unknown Webhook', code: 10015 }, { status: 404 });
    if (token !== WEBHOOK_TOKEN)
      return json({ message: 'Invalid Webhook Token', code: 50027 }, { status: 401 });
    const next = scripted.shift();
    if (next) return next;
    let body: Record<string, unknown>;
    try {
      body = request.json();
    } catch {
      return json({ message: 'The request body contains invalid JSON.', code: 50109 }, { status: 400 });
    }
    const problem = limitProblem(body);
    if (problem) return problem;
    const message: DiscordFakeMessage = {
      id: String(1_100_000_000_000_000_000n + nextId++),
      content: typeof body.content === 'string' ? body.content : undefined,
      embeds: Array.isArray(body.embeds) ? (body.embeds as Array<Record<string, unknown>>) : [],
    };
    messages.push(message);
    if (request.query.get('wait') !== 'true') return empty(204);
    return json({
      id: message.id,
      type: 0,
      content: message.content ?? '',
      embeds: message.embeds,
      webhook_id: WEBHOOK_ID,
    });
  });

  return {
    webhookUrl: `${server.url}/api/webhooks/${WEBHOOK_ID}/${WEBHOOK_TOKEN}`,
    server,
    messages,
    rateLimitNext(retryAfterSeconds, count = 1) {
      for (let index = 0; index < count; index++) {
        scripted.push(
          json(
            { message: 'You are being rate limited.', retry_after: retryAfterSeconds, global: false },
            {
              status: 429,
              headers: {
                'retry-after': String(Math.ceil(retryAfterSeconds)),
                'x-ratelimit-limit': '5',
                'x-ratelimit-remaining': '0',
                'x-ratelimit-reset-after': String(retryAfterSeconds),
                'x-ratelimit-scope': 'shared',
              },
            },
          ),
        );
      }
    },
    failNext(status) {
      scripted.push(
        json({ message: status >= 500 ? '500: Internal Server Error' : 'Bad Request', code: 0 }, { status }),
      );
    },
    deleteWebhook() {
      deleted = true;
    },
    close: () => server.close(),
  };
}
