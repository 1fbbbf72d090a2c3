// Reading a child's output line by line, for the CLI tests.
import type { Readable } from 'node:stream';

/** The first JSON line on `stream` that `match` accepts (lines already read are not seen again). */
export function lineOf(
  stream: Readable,
  match: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let partial = '';
    const onData = (d: Buffer | string): void => {
      partial += String(d);
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(l) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (match(parsed)) {
          stream.off('data', onData);
          stream.off('end', onEnd);
          resolve(parsed);
          return;
        }
      }
    };
    const onEnd = (): void => reject(new Error('stream ended before the line'));
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}
