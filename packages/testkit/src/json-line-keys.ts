/**
 * The top-level keys a JSON text names more than once, in the order they repeat. `JSON.parse`
 * keeps the last of each without a word; pino writes a key its child binds and a line's key of the
 * same name both, so a log line test checks its raw text with this.
 *
 * @example
 * repeatedKeys('{"component":"agent","msg":"x","component":"mcp"}'); // ['component']
 */
export function repeatedKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let keyNext = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (char === '"') {
      let end = index + 1;
      while (line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      if (keyNext) keys.push(JSON.parse(line.slice(index, end + 1)) as string);
      keyNext = false;
      index = end;
    } else if (char === '{' || char === '[') {
      depth++;
      keyNext = depth === 1 && char === '{';
    } else if (char === '}' || char === ']') depth--;
    else if (char === ',') keyNext = depth === 1;
  }
  return keys.filter((key, index) => keys.indexOf(key) !== index);
}
