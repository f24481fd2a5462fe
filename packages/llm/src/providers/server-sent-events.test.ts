import { describe, expect, it } from 'vitest';
import { type ServerSentEvent, ServerSentEventParser } from './server-sent-events.js';

function parse(pieces: string[]): ServerSentEvent[] {
  const parser = new ServerSentEventParser();
  const out: ServerSentEvent[] = [];
  for (const piece of pieces) parser.push(piece, out);
  return out;
}

describe('ServerSentEventParser', () => {
  it('reads data events, with or without the space after the colon', () => {
    expect(parse(['data: {"a":1}\n\ndata:{"b":2}\n\n'])).toEqual([
      { event: undefined, data: '{"a":1}' },
      { event: undefined, data: '{"b":2}' },
    ]);
  });

  it('joins events split anywhere across reads, including inside a line ending', () => {
    const body = 'data: one\r\n\r\nevent: error\r\ndata: two\r\rdata: three\n\n';
    const whole = parse([body]);
    expect(whole).toEqual([
      { event: undefined, data: 'one' },
      { event: 'error', data: 'two' },
      { event: undefined, data: 'three' },
    ]);
    for (let cut = 1; cut < body.length; cut++) {
      expect(parse([body.slice(0, cut), body.slice(cut)])).toEqual(whole);
    }
    expect(parse(body.split(''))).toEqual(whole);
  });

  it('skips comments and keep-alives, joins multi-line data and drops events without data', () => {
    const body = ': OPENROUTER PROCESSING\n\nevent: ping\n\nid: 7\nretry: 100\ndata: a\ndata\ndata: b\n\n';
    expect(parse([body])).toEqual([{ event: undefined, data: 'a\n\nb' }]);
  });

  it('ignores a byte order mark and keeps an unfinished event out', () => {
    expect(parse(['\uFEFFdata: x\n\ndata: cut'])).toEqual([{ event: undefined, data: 'x' }]);
  });
});
