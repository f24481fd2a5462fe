import { describe, expect, it } from 'vitest';
import { JsonRpcLineReader } from './json-rpc-line-reader.js';

const line = (message: object) => `${JSON.stringify(message)}\n`;

describe('JsonRpcLineReader', () => {
  it('reads messages split across chunks and several in one chunk', () => {
    const reader = new JsonRpcLineReader(1024);
    const first = line({ jsonrpc: '2.0', id: 1, result: {} });
    const second = line({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    expect(reader.push(Buffer.from(first.slice(0, 10)))).toEqual([]);
    const events = reader.push(Buffer.from(first.slice(10) + second));
    expect(events.map((event) => event.kind)).toEqual(['message', 'message']);
    expect(events[0]).toMatchObject({ message: { id: 1 } });
  });

  it('drops one message over the limit, keeps its size, first and last bytes, and reads the next', () => {
    const reader = new JsonRpcLineReader(100);
    const big = line({ result: { text: 'x'.repeat(300) }, jsonrpc: '2.0', id: 7 });
    const next = line({ jsonrpc: '2.0', id: 8, result: {} });
    const chunks = [big.slice(0, 50), big.slice(50, 200), big.slice(200) + next];
    const events = chunks.flatMap((chunk) => reader.push(Buffer.from(chunk)));
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ kind: 'oversized', bytes: big.length - 1 });
    const oversized = events[0] as { head: string; tail: string };
    expect(oversized.head.startsWith('{"result":{"text":"xxx')).toBe(true);
    expect(oversized.tail.endsWith('"jsonrpc":"2.0","id":7}')).toBe(true);
    expect(events[1]).toMatchObject({ kind: 'message', message: { id: 8 } });
  });

  it('reports a line that is not JSON-RPC and goes on', () => {
    const reader = new JsonRpcLineReader(1024);
    const events = reader.push(Buffer.from(`not json\n${line({ jsonrpc: '2.0', id: 2, result: {} })}`));
    expect(events.map((event) => event.kind)).toEqual(['invalid', 'message']);
  });
});
