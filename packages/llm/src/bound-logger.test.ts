import { Writable } from 'node:stream';
import { repeatedKeys } from '@haia/testkit';
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

/** pino (with its pid, hostname and time) writing into `raw`, one JSON text per line. */
function rawPino() {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line.trim()) raw.push(line);
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, destination), raw };
}

/** A line's object, after checking that it names each top-level key once. */
function parseOnce(line: string): Record<string, unknown> {
  expect(repeatedKeys(line), line).toEqual([]);
  return JSON.parse(line) as Record<string, unknown>;
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

  it("writes each key once over a pino child that binds some of them, with the child's value", () => {
    const { logger, raw } = rawPino();
    // The request's logger, and an app that bound `component` itself: pino has both in every line.
    const request = logger.child({ requestId: 'r1', component: 'api' });
    const bound = bindLogger(request, { component: 'llm', provider: 'acme' });
    bound.info({ requestId: 'r2', latencyMs: 3 }, 'llm call');
    bound.debug({ component: 'other', step: 1 }, 'debug line');
    bound.warn(new Error('boom') as object, 'failed');
    bound.child({ component: 'mcp', requestId: 'r3', tool: 'x' }).info({ tool: 'x', outcome: 'ok' }, 'tool');
    const lines = raw.map(parseOnce);
    expect(lines.map((line) => line.msg)).toEqual(['llm call', 'debug line', 'failed', 'tool']);
    for (const line of lines) expect(line).toMatchObject({ requestId: 'r1', component: 'api' });
    expect(lines[0]).toMatchObject({ provider: 'acme', latencyMs: 3 });
    expect(lines[2]).toMatchObject({ provider: 'acme', err: { message: 'boom' } });
    expect(lines[3]).toMatchObject({ provider: 'acme', tool: 'x', outcome: 'ok' });
  });

  it('gives a key bound at several layers over a pino child once, the innermost value', () => {
    const { logger, raw } = rawPino();
    // As in HAIA: the request's logger, the agent's run, a tool call, an MCP call line.
    const run = bindLogger(logger.child({ requestId: 'r1' }), { component: 'agent' });
    const call = bindLogger(run, { tool: 'read', toolCallId: 'c1' });
    bindLogger(call, { component: 'mcp', server: 'files' }).info(
      { server: 'files', tool: 'read', toolName: 'files__read', toolCallId: 'c1', outcome: 'ok' },
      'mcp tool call',
    );
    expect(raw.map(parseOnce)).toEqual([
      expect.objectContaining({
        requestId: 'r1',
        component: 'mcp',
        server: 'files',
        tool: 'read',
        toolName: 'files__read',
        toolCallId: 'c1',
        outcome: 'ok',
      }),
    ]);
  });
});
