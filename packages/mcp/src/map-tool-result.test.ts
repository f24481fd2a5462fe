import { describe, expect, it } from 'vitest';
import { mapToolResult } from './map-tool-result.js';

describe('mapToolResult', () => {
  it('joins text and describes binary content', () => {
    expect(
      mapToolResult({
        content: [
          { type: 'text', text: 'one' },
          { type: 'text', text: 'two' },
          { type: 'image', data: 'aGVsbG8=', mimeType: 'image/jpeg' },
          { type: 'audio', data: 'aGVsbG8h', mimeType: 'audio/wav' },
          { type: 'resource', resource: { uri: 'file:///x.bin', mimeType: 'application/zip', blob: 'AAAA' } },
          { type: 'resource_link', uri: 'file:///y', name: 'y', description: 'a file' },
        ],
      }),
    ).toBe(
      'one\ntwo\n[image image/jpeg, 5 bytes]\n[audio audio/wav, 6 bytes]\n[resource file:///x.bin, application/zip, 3 bytes]\n[resource link: y <file:///y> (a file)]',
    );
  });

  it('returns structuredContent when there is no content', () => {
    expect(mapToolResult({ content: [], structuredContent: { vms: 3 } })).toEqual({ vms: 3 });
  });

  it('turns isError into an error result, with a fallback message', () => {
    expect(mapToolResult({ isError: true, content: [{ type: 'text', text: 'nope' }] })).toEqual({
      isError: true,
      content: 'nope',
    });
    expect(mapToolResult({ isError: true, content: [] })).toEqual({
      isError: true,
      content: 'The tool failed without saying why.',
    });
  });

  it('reads the old toolResult shape', () => {
    expect(mapToolResult({ toolResult: { ok: true } })).toBe('{"ok":true}');
  });
});
