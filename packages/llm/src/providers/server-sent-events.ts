/** One event of a `text/event-stream` body. */
export interface ServerSentEvent {
  /** The `event:` field, when the server named the event. */
  event: string | undefined;
  /** The `data:` lines, joined with `\n`. */
  data: string;
}

/**
 * An incremental `text/event-stream` parser, by the WHATWG rules: lines end with `\n`, `\r\n` or
 * `\r` (also when split across reads), `:` starts a comment (keep-alives such as
 * `: OPENROUTER PROCESSING`), one space after the colon is dropped, several `data:` lines form one
 * event, a blank line ends it, and an event without data is not dispatched. `id` and `retry` are
 * ignored (nothing here reconnects). Text comes in already decoded.
 */
export class ServerSentEventParser {
  private rest = '';
  private skipNewline = false;
  private first = true;
  private event: string | undefined;
  private data: string | undefined;

  /** Parses the next piece of the body; complete events are appended to `out`. */
  push(text: string, out: ServerSentEvent[]): void {
    if (this.first && text !== '') {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.skipNewline && text !== '') {
      this.skipNewline = false;
      if (text.charCodeAt(0) === 10) text = text.slice(1);
    }
    if (text.includes('\r')) {
      this.skipNewline = text.endsWith('\r');
      text = text.replace(/\r\n?/g, '\n');
    }
    const buffer = this.rest === '' ? text : this.rest + text;
    let start = 0;
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n', start)) {
      this.line(buffer.slice(start, end), out);
      start = end + 1;
    }
    this.rest = start === 0 ? buffer : buffer.slice(start);
  }

  private line(line: string, out: ServerSentEvent[]): void {
    if (line === '') {
      if (this.data !== undefined) out.push({ event: this.event, data: this.data });
      this.event = undefined;
      this.data = undefined;
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) return;
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = '';
    if (colon !== -1)
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    if (field === 'data') this.data = this.data === undefined ? value : `${this.data}\n${value}`;
    else if (field === 'event') this.event = value;
  }
}
