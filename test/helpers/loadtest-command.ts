// The `loadtest` command run in the test's own process, with stdout and
// stderr captured; its generator threads load from dist/, as the shipped
// bin's do, so the command is taken from dist/ too (build first).
import { join } from 'node:path';
import { Writable } from 'node:stream';

/** What a proxy under load test is given: no per-address cap, rate limits out of reach. */
export const OPEN_LIMITS = {
  MAX_CONNECTIONS_PER_IP: '0',
  UPGRADE_RATE_LIMIT_MAX_REQUESTS: '1000000',
  RATE_LIMIT_MAX_REQUESTS: '1000000000',
};

/** A short run: 25 frames/s, 2 s, 1 s of ramp, the report as JSON. */
export const FAST = ['--rate', '25', '--duration', '2', '--ramp', '1', '--json'];

type Command = typeof import('../../src/cli/loadtest');
const command = (): Command => require(join(__dirname, '..', '..', 'dist', 'cli', 'loadtest.js')) as Command;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** Runs the command; `report` is stdout parsed as JSON (null for a table, or nothing). */
export async function loadtest(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string; report: any }> {
  const out = new Capture();
  const err = new Capture();
  const code = await command().runLoadTestCommand(args, env, out, err);
  let report: any = null;
  try {
    report = JSON.parse(out.text);
  } catch {
    /* a table, or nothing */
  }
  return { code, out: out.text, err: err.text, report };
}
