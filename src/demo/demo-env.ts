// The environment `npm run demo` runs the proxy with: the developer's own
// settings, overridden where the demo needs something specific. Kept apart
// from demo.ts so a test can check what the demo will allow.
import { randomBytes } from 'node:crypto';
import type { Env } from '../config';

export const DEMO_MODEL = 'gpt-realtime';
/** A stand-in credential: the simulator only checks that one is sent. */
export const DEMO_KEY = 'demo-key';

/** Origins the page is served from on `port`, plus whatever the developer allowed. */
export function demoOrigins(port: number, extra = ''): string {
  const own = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
  const more = extra
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && !own.includes(s));
  return [...own, ...more].join(',');
}

/** Where the demo listens unless started with `--host`. */
export const DEMO_HOST = '127.0.0.1';

/**
 * `--host ADDR` or `--host=ADDR` on the demo's command line
 * (`npm run demo -- --host 0.0.0.0`), else loopback. Not HOST: `.env.example`
 * sets HOST=0.0.0.0 for the proxy, and a copied `.env` must not put the demo
 * (a development page with a simulator behind it) on every interface.
 */
export function demoHost(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--host' && i + 1 < argv.length) return argv[i + 1];
    if (argv[i].startsWith('--host=')) return argv[i].slice('--host='.length);
  }
  return DEMO_HOST;
}

export function demoEnv(base: Env, port: number, simulatorOrigin: string, host = DEMO_HOST): Env {
  return {
    ...base,
    // Loopback unless asked on the command line: the demo is for the machine it
    // runs on, and browsers give a page the microphone only on localhost or HTTPS anyway.
    HOST: host,
    PORT: String(port),
    AZURE_VOICE_LIVE_ENDPOINT: simulatorOrigin,
    AZURE_SPEECH_KEY: DEMO_KEY,
    ALLOWED_ORIGINS: demoOrigins(port, base.ALLOWED_ORIGINS),
    DEMO: 'true',
    // One process is enough and keeps the printed URLs true.
    WORKERS: '1',
    // `CLIENT_AUTH=ticket npm run demo` shows the ticket flow without any
    // setup: a secret for this run only, used by /demo/ticket.
    ...(base.CLIENT_AUTH?.trim().toLowerCase() === 'ticket' && !base.TICKET_SECRET && !base.TICKET_JWKS_URL
      ? { TICKET_SECRET: randomBytes(32).toString('base64url') }
      : {}),
  };
}

export function demoUrls(port: number): { page: string; ws: string } {
  return {
    page: `http://localhost:${port}/demo/`,
    ws: `ws://localhost:${port}/ws?model=${DEMO_MODEL}`,
  };
}
