import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { bindLogger } from './bound-logger.js';

function memoryPino() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino({ level: 'info', base: null, timestamp: false }, destination), lines };
}

describe('bindLogger', () => {
  it('writes the same lines as a pino child, at the same levels', () => {
    const bound = memoryPino();
    const child = memoryPino();
    const write = (logger: ReturnType<typeof bindLogger>) => {
      logger.debug({ hidden: true }, 'not at info');
      logger.info({ latencyMs: 3 }, 'llm call');
      logger.warn({ code: 'rate-limit' }, 'llm call failed');
      logger.error({ step: 2 }, 'broken');
      logger.child({ tool: 'list_vms' }).info({ outcome: 'ok' }, 'tool call');
    };
    write(bindLogger(bound.logger.child({ requestId: 'r1' }), { component: 'llm' }));
    write(child.logger.child({ requestId: 'r1' }).child({ component: 'llm' }));
    expect(bound.lines).toEqual(child.lines);
    expect(bound.lines.map((line) => [line.level, line.msg])).toEqual([
      [30, 'llm call'],
      [40, 'llm call failed'],
      [50, 'broken'],
      [30, 'tool call'],
    ]);
    expect(bound.lines[3]).toMatchObject({
      requestId: 'r1',
      component: 'llm',
      tool: 'list_vms',
      outcome: 'ok',
    });
  });

  it('writes debug lines once the level allows them, and works over a logger without isLevelEnabled', () => {
    const { logger, lines } = memoryPino();
    const bound = bindLogger(logger, { component: 'llm' });
    bound.debug({ step: 1 }, 'dropped');
    logger.level = 'debug';
    bound.debug({ step: 2 }, 'kept');
    expect(lines).toEqual([{ level: 20, component: 'llm', step: 2, msg: 'kept' }]);
    const seen: object[] = [];
    const plain = {
      debug: (object: object) => seen.push(object),
      info() {},
      warn() {},
      error() {},
      child: () => plain,
    };
    bindLogger(plain, { component: 'llm' }).debug({ step: 3 });
    expect(seen).toEqual([{ component: 'llm', step: 3 }]);
  });

  it('keeps an Error given as the object as `err`, with its message and stack', () => {
    const { logger, lines } = memoryPino();
    bindLogger(logger, { component: 'agent' }).warn(new Error('tool exploded') as object, 'tool failed');
    expect(lines[0]).toMatchObject({
      component: 'agent',
      msg: 'tool failed',
      err: { message: 'tool exploded' },
    });
    expect(String((lines[0]?.err as { stack?: string } | undefined)?.stack)).toContain('tool exploded');
  });
});
