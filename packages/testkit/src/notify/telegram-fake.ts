import { type FakeServer, type RecordedRequest, startFakeServer } from '../fake-server.js';
import { json, type Reply } from '../replies.js';

/** A message the fake Telegram accepted. */
export interface TelegramFakeMessage {
  messageId: number;
  chatId: string;
  text: string;
  parseMode: string | undefined;
}

/** A fake Telegram Bot API (`sendMessage`) with Telegram's validation and error shapes. */
export interface TelegramFake {
  /** Pass as `apiUrl` (TELEGRAM_API_URL). */
  url: string;
  server: FakeServer;
  /** Accepted messages, oldest first. */
  messages: TelegramFakeMessage[];
  /** The next `count` sends get 429 with `parameters.retry_after`. */
  rateLimitNext(retryAfterSeconds: number, count?: number): void;
  /** The next send gets this status with Telegram's error body (e.g. 502). */
  failNext(status: number, description?: string): void;
  /** The next send is accepted and recorded, then the connection is cut before the answer. */
  acceptThenDropNext(): void;
  close(): Promise<void>;
}

const ALLOWED_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'a',
  'code',
  'pre',
  'blockquote',
  'tg-spoiler',
  'span',
]);

function error(status: number, description: string, extra: Record<string, unknown> = {}): Reply {
  return json({ ok: false, error_code: status, description, ...extra }, { status });
}

/** Checks text the way Telegram's HTML parse mode does (unknown tags and bare `<`/`&` are rejected). */
function htmlProblem(text: string): string | undefined {
  for (const match of text.matchAll(/<[^>]*>?/g)) {
    const tag = /^<\/?([a-z-]+)(\s[^>]*)?>$/.exec(match[0]);
    if (!tag || !ALLOWED_TAGS.has(tag[1] as string)) {
      return `Bad Request: can't parse entities: Unsupported start tag "${match[0].slice(1, 20)}" at byte offset ${match.index}`;
    }
  }
  for (const match of text.matchAll(/&[^;\s]*;?/g)) {
    if (!/^&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);$/i.test(match[0])) {
      return `Bad Request: can't parse entities: Unsupported HTML entity at byte offset ${match.index}`;
    }
  }
  return undefined;
}

/** Starts a fake Telegram Bot API for one bot `token` that knows the given chats. */
export async function startTelegramFake(options: { token: string; chats: string[] }): Promise<TelegramFake> {
  const server = await startFakeServer();
  const messages: TelegramFakeMessage[] = [];
  const scripted: Array<'drop' | Reply> = [];
  let nextId = 1;

  const accept = (request: RecordedRequest): TelegramFakeMessage | Reply => {
    let body: Record<string, unknown>;
    try {
      body = request.json();
    } catch {
      return error(400, 'Bad Request: invalid JSON');
    }
    const chatId = body.chat_id === undefined ? undefined : String(body.chat_id);
    const text = typeof body.text === 'string' ? body.text : '';
    if (!chatId) return error(400, 'Bad Request: chat_id is empty');
    if (!options.chats.includes(chatId)) return error(400, 'Bad Request: chat not found');
    if (!text.trim()) return error(400, 'Bad Request: message text is empty');
    if (text.length > 4096) return error(400, 'Bad Request: message is too long');
    const parseMode = typeof body.parse_mode === 'string' ? body.parse_mode : undefined;
    if (parseMode === 'HTML') {
      const problem = htmlProblem(text);
      if (problem) return error(400, problem);
    }
    const message = { messageId: nextId++, chatId, text, parseMode };
    messages.push(message);
    return message;
  };

  server.route('POST', /^\/bot[^/]+\/sendMessage$/, (request) => {
    if (request.path !== `/bot${options.token}/sendMessage`) return error(401, 'Unauthorized');
    const next = scripted.shift();
    if (next && next !== 'drop') return next;
    const result = accept(request);
    if (typeof result === 'function') return result;
    if (next === 'drop') return (response) => void response.socket?.destroy();
    return json({
      ok: true,
      result: {
        message_id: result.messageId,
        chat: { id: Number(result.chatId) },
        date: Math.floor(Date.now() / 1000),
        text: result.text,
      },
    });
  });
  server.route('*', /^\/bot/, () => error(404, 'Not Found'));

  return {
    url: server.url,
    server,
    messages,
    rateLimitNext(retryAfterSeconds, count = 1) {
      for (let index = 0; index < count; index++) {
        scripted.push(
          error(429, `Too Many Requests: retry after ${retryAfterSeconds}`, {
            parameters: { retry_after: retryAfterSeconds },
          }),
        );
      }
    },
    failNext(status, description = status >= 500 ? 'Internal Server Error' : 'Bad Request') {
      scripted.push(error(status, description));
    },
    acceptThenDropNext() {
      scripted.push('drop');
    },
    close: () => server.close(),
  };
}
