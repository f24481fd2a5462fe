// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are mcp_config.json text with ${VAR} references
import { describe, expect, it } from 'vitest';
import { expandEnv } from './expand-env.js';

describe('expandEnv', () => {
  const env = { HOST: 'nas.lan', EMPTY: '', PORT: '8080' };

  it('expands ${VAR} and ${VAR:-default} in every string, nested, but not in keys', () => {
    const { value, problems } = expandEnv(
      {
        url: 'http://${HOST}:${PORT}/mcp',
        args: ['--dir', '${DATA:-/srv/data}', '${EMPTY:-fallback}', '${EMPTY}'],
        headers: { '${HOST}': '${HOST}' },
        count: 3,
        flag: true,
        nothing: null,
      },
      env,
    );
    expect(problems).toEqual([]);
    expect(value).toEqual({
      url: 'http://nas.lan:8080/mcp',
      args: ['--dir', '/srv/data', 'fallback', ''],
      headers: { '${HOST}': 'nas.lan' },
      count: 3,
      flag: true,
      nothing: null,
    });
  });

  it('keeps $${VAR} literal and leaves a lone $ alone', () => {
    expect(expandEnv('cost $5, literal $${HOST}', env).value).toBe('cost $5, literal ${HOST}');
  });

  it('reports each unset variable without a default at its path', () => {
    const { problems } = expandEnv({ a: ['${NOPE}', 'ok'], b: { c: 'x ${ALSO_NOPE} y' } }, env);
    expect(problems).toEqual([
      { path: 'a[0]', message: expect.stringContaining('NOPE is not set') },
      { path: 'b.c', message: expect.stringContaining('ALSO_NOPE is not set') },
    ]);
  });
});
