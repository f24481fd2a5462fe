import { describe, expect, it } from 'vitest';
import {
  isLoopbackHost,
  parseBoolean,
  parseDuration,
  parseInteger,
  parseInterval,
  parseList,
  parseModelRef,
  parseOllamaHost,
  parsePort,
  parseQuietHours,
  parseUrl,
} from './values.js';

describe('parseModelRef', () => {
  it('splits at the first colon only', () => {
    expect(parseModelRef('ollama:llama3.1:8b')).toEqual({
      id: 'ollama:llama3.1:8b',
      provider: 'ollama',
      modelId: 'llama3.1:8b',
    });
    expect(parseModelRef(' anthropic:claude-sonnet-4-5 ').modelId).toBe('claude-sonnet-4-5');
    expect(parseModelRef('openai-compatible:qwen/qwen3-8b').provider).toBe('openai-compatible');
  });

  it('rejects a missing provider, model or unknown provider', () => {
    expect(() => parseModelRef('llama3.2')).toThrow(/provider:model/);
    expect(() => parseModelRef('ollama:')).toThrow(/provider:model/);
    expect(() => parseModelRef(':x')).toThrow(/provider:model/);
    expect(() => parseModelRef('mistral:large')).toThrow(/got "mistral"/);
  });
});

describe('parseDuration', () => {
  it('reads every unit and combinations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
  });

  it('rejects bare numbers, unknown units and zero', () => {
    for (const bad of ['300', '5 minutes', '5x', '', '0s', 'm5', '5m junk']) {
      expect(() => parseDuration(bad), bad).toThrow(/duration with a unit/);
    }
  });
});

describe('parseInterval', () => {
  it('takes durations up to 24 days, what a timer can wait, and says so beyond', () => {
    expect(parseInterval('5m')).toBe(300_000);
    expect(parseInterval('24d')).toBe(24 * 86_400_000);
    expect(() => parseInterval('30d')).toThrow(/at most 24 days/);
    expect(() => parseInterval('5 minutes')).toThrow(/duration with a unit/);
  });
});

describe('scalars', () => {
  it('parses booleans in common spellings', () => {
    for (const yes of ['true', 'TRUE', '1', 'yes', 'on']) expect(parseBoolean(yes)).toBe(true);
    for (const no of ['false', '0', 'No', 'off']) expect(parseBoolean(no)).toBe(false);
    expect(() => parseBoolean('maybe')).toThrow('true or false');
  });

  it('parses ports and bounded integers', () => {
    expect(parsePort('8000')).toBe(8000);
    expect(parsePort('0')).toBe(0);
    for (const bad of ['65536', 'abc', '80.5', '-1']) expect(() => parsePort(bad)).toThrow(/0 to 65535/);
    expect(parseInteger('12', { min: 1 })).toBe(12);
    expect(() => parseInteger('0', { min: 1 })).toThrow('a whole number of at least 1');
  });

  it('parses URLs with allowed protocols and drops a trailing slash', () => {
    expect(parseUrl('http://127.0.0.1:11434/')).toBe('http://127.0.0.1:11434');
    expect(() => parseUrl('not a url')).toThrow(/a URL/);
    expect(() => parseUrl('ftp://x')).toThrow(/http:\/\/ or https:\/\//);
    expect(parseUrl('postgres://u@h/db', ['postgres:'])).toBe('postgres://u@h/db');
  });

  it('splits comma lists', () => {
    expect(parseList(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(parseList('')).toEqual([]);
  });

  it('recognises loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '192.168.1.2', '::', 'haia.lan']) expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('parseQuietHours', () => {
  it('reads windows, also across midnight', () => {
    expect(parseQuietHours('22:00-07:00')).toEqual({ startMinute: 1320, endMinute: 420 });
    expect(parseQuietHours(' 1:05 - 6:30 ')).toEqual({ startMinute: 65, endMinute: 390 });
  });

  it('rejects malformed or empty windows', () => {
    for (const bad of ['22-07', '25:00-07:00', '22:00-22:00', '10:61-11:00', 'night']) {
      expect(() => parseQuietHours(bad), bad).toThrow(/HH:MM-HH:MM|start and end differ/);
    }
  });
});

describe('parseOllamaHost', () => {
  it('takes the forms Ollama itself takes for OLLAMA_HOST (scheme and port optional)', () => {
    expect(parseOllamaHost('0.0.0.0')).toBe('http://0.0.0.0:11434');
    expect(parseOllamaHost('gpu-box:11500')).toBe('http://gpu-box:11500');
    expect(parseOllamaHost('[::1]')).toBe('http://[::1]:11434');
    expect(parseOllamaHost('http://127.0.0.1:11434/')).toBe('http://127.0.0.1:11434');
    expect(parseOllamaHost('https://ollama.example.com')).toBe('https://ollama.example.com');
    expect(parseOllamaHost('http://proxy.lan/ollama')).toBe('http://proxy.lan/ollama');
    expect(() => parseOllamaHost('ftp://x')).toThrow('such as http://127.0.0.1:11434');
    expect(() => parseOllamaHost('bad host')).toThrow('such as http://127.0.0.1:11434');
  });
});
