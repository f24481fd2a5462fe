import { type FakeServer, startFakeServer } from '../fake-server.js';
import { json, type Reply } from '../replies.js';

/** A message the fake ntfy server accepted. */
export interface NtfyFakeMessage {
  id: string;
  topic: string;
  title: string | undefined;
  message: string;
  priority: number | undefined;
  tags: string[];
  click: string | undefined;
}

/** A fake ntfy server (JSON publishing and per-topic POST) with ntfy's error bodies. */
export interface NtfyFake {
  /** The server's base URL; a topic URL is `${url}/<topic>`. */
  url: string;
  server: FakeServer;
  messages: NtfyFakeMessage[];
  rateLimitNext(count?: number): void;
  failNext(status: number): void;
  close(): Promise<void>;
}

function ntfyError(status: number, code: number, error: string): Reply {
  return json({ code, http: status, error, link: 'https://ntfy.sh/docs/publish/' }, { status });
}

/** Starts a fake ntfy server; with `token`, publishing needs `Authorization: Bearer <token>`. */
export async function startNtfyFake(options: { token?: string } = {}): Promise<NtfyFake> {
  const server = await startFakeServer();
  const messages: NtfyFakeMessage[] = [];
  const scripted: Reply[] = [];
  let nextId = 1;

  server.route('POST', /^\/[^/]*$/, (request) => {
    if (options.token) {
      const given = request.headers.authorization;
      if (!given) return ntfyError(403, 40301, 'forbidden');
      if (given !== `Bearer ${options.token}`) return ntfyError(401, 40101, 'unauthorized');
    }
    const next = scripted.shift();
    if (next) return next;
    const pathTopic = request.path.slice(1);
    let fields: Record<string, unknown> = {};
    if (!pathTopic) {
      try {
        fields = request.json();
      } catch {
        return ntfyError(
          400,
          40024,
          'invalid request: request body must be JSON when publishing to the root',
        );
      }
    } else {
      fields = {
        topic: pathTopic,
        message: request.body,
        title: request.headers.title,
        priority: request.headers.priority,
      };
    }
    const topic = String(fields.topic ?? '');
    if (!/^[-_A-Za-z0-9]{1,64}$/.test(topic)) return ntfyError(400, 40009, 'invalid request: topic invalid');
    const priority = fields.priority === undefined ? undefined : Number(fields.priority);
    if (priority !== undefined && !(priority >= 1 && priority <= 5)) {
      return ntfyError(400, 40007, 'invalid priority: priority must be 1-5');
    }
    const message: NtfyFakeMessage = {
      id: `fake${String(nextId++).padStart(8, '0')}`,
      topic,
      title: fields.title === undefined ? undefined : String(fields.title),
      message: String(fields.message ?? 'triggered'),
      priority,
      tags: Array.isArray(fields.tags) ? fields.tags.map(String) : [],
      click: fields.click === undefined ? undefined : String(fields.click),
    };
    messages.push(message);
    return json({ ...message, time: Math.floor(Date.now() / 1000), event: 'message' });
  });

  return {
    url: server.url,
    server,
    messages,
    rateLimitNext(count = 1) {
      for (let index = 0; index < count; index++)
        scripted.push(ntfyError(429, 42901, 'limit reached: too many requests'));
    },
    failNext(status) {
      scripted.push(ntfyError(status, status * 100 + 1, 'internal server error'));
    },
    close: () => server.close(),
  };
}
