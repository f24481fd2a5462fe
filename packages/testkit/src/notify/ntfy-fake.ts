import { type FakeServer, startFakeServer } from '../fake-server.js';
import { json, type Reply } from '../replies.js';

/** The file ntfy makes of a message too long to show (the phone shows "You received a file: …"). */
export interface NtfyFakeAttachment {
  name: string;
  type: string;
  /** The message's length in UTF-8 bytes. */
  size: number;
  /** Unix time in seconds. */
  expires: number;
  url: string;
}

/** A message the fake ntfy server accepted. */
export interface NtfyFakeMessage {
  id: string;
  topic: string;
  title: string | undefined;
  message: string;
  priority: number | undefined;
  tags: string[];
  click: string | undefined;
  /** Set when the message text reached ntfy's size limit: `message` is then "You received a file: attachment.txt". */
  attachment: NtfyFakeAttachment | undefined;
}

/** A fake ntfy server (JSON publishing and per-topic POST) with ntfy's error bodies. */
export interface NtfyFake {
  /** The server's base URL; a topic URL is `${url}/<topic>`. */
  url: string;
  server: FakeServer;
  messages: NtfyFakeMessage[];
  /** The next `count` publishes get 429; with `retryAfterSeconds`, a `Retry-After` header (as a proxy in front of ntfy sends). */
  rateLimitNext(count?: number, retryAfterSeconds?: number): void;
  failNext(status: number): void;
  close(): Promise<void>;
}

/** ntfy's default `message-size-limit`: text of this many UTF-8 bytes or more becomes an attachment. */
const MESSAGE_SIZE_LIMIT = 4096;
/** ntfy reads at most twice the message limit of a JSON publish body. */
const JSON_BODY_LIMIT = MESSAGE_SIZE_LIMIT * 2;
/** ntfy's default `attachment-expiry-duration`. */
const ATTACHMENT_EXPIRY_SECONDS = 3 * 60 * 60;

function ntfyError(status: number, code: number, error: string, headers?: Record<string, string>): Reply {
  return json({ code, http: status, error, link: 'https://ntfy.sh/docs/publish/' }, { status, headers });
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
      if (Buffer.byteLength(request.body) >= JSON_BODY_LIMIT)
        return ntfyError(413, 41303, 'JSON body too large');
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
    const id = `fake${String(nextId++).padStart(8, '0')}`;
    const text = String(fields.message ?? 'triggered');
    const size = Buffer.byteLength(text);
    // Like ntfy, a message at the size limit is kept as a file and only its name is shown.
    const attachment: NtfyFakeAttachment | undefined =
      size >= MESSAGE_SIZE_LIMIT
        ? {
            name: 'attachment.txt',
            type: 'text/plain; charset=utf-8',
            size,
            expires: Math.floor(Date.now() / 1000) + ATTACHMENT_EXPIRY_SECONDS,
            url: `${server.url}/file/${id}.txt`,
          }
        : undefined;
    const message: NtfyFakeMessage = {
      id,
      topic,
      title: fields.title === undefined ? undefined : String(fields.title),
      message: attachment ? `You received a file: ${attachment.name}` : text,
      priority,
      tags: Array.isArray(fields.tags) ? fields.tags.map(String) : [],
      click: fields.click === undefined ? undefined : String(fields.click),
      attachment,
    };
    messages.push(message);
    return json({ ...message, time: Math.floor(Date.now() / 1000), event: 'message' });
  });

  return {
    url: server.url,
    server,
    messages,
    rateLimitNext(count = 1, retryAfterSeconds) {
      const headers =
        retryAfterSeconds === undefined ? undefined : { 'retry-after': String(retryAfterSeconds) };
      for (let index = 0; index < count; index++)
        scripted.push(ntfyError(429, 42901, 'limit reached: too many requests', headers));
    },
    failNext(status) {
      scripted.push(ntfyError(status, status * 100 + 1, 'internal server error'));
    },
    close: () => server.close(),
  };
}
