// The environment `npm run demo` runs the proxy with: the developer's own
// settings, overridden where the demo needs something specific. Kept apart
// from demo.ts so a test can check what the demo will allow.
import type { Env } from '../config';

export const DEMO_MODEL = 'gpt-realtime';
/** A stand-in credential: the simulator only checks that one is sent. */
export const DEMO_KEY = 'demo-key';

/** Origins the page is served from on `port`, plus whatever the developer allowed. */
export function demoOrigins(port: number, extra = ''): string {
  const own = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
  const more = extra.split(',').map((s) => s.trim()).filter((s) => s !== '' && !own.includes(s));
  return [...own, ...more].join(',');
}

export function demoEnv(base: Env, port: number, simulatorOrigin: string): Env {
  return {
    ...base,
    // Loopback by default: the demo is for the machine it runs on, and
    // browsers give a page the microphone only on localhost or HTTPS anyway.
    HOST: base.HOST ?? '127.0.0.1',
    PORT: String(port),
    AZURE_VOICE_LIVE_ENDPOINT: simulatorOrigin,
    AZURE_SPEECH_KEY: DEMO_KEY,
    ALLOWED_ORIGINS: demoOrigins(port, base.ALLOWED_ORIGINS),
    DEMO: 'true',
    // One process is enough and keeps the printed URLs true.
    WORKERS: '1',
  };
}

export function demoUrls(port: number): { page: string; ws: string } {
  return {
    page: `http://localhost:${port}/demo/`,
    ws: `ws://localhost:${port}/ws?model=${DEMO_MODEL}`,
  };
}
