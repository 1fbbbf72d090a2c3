// `npm run demo`: the Voice Live simulator and the proxy in one process, with
// the browser page switched on. No Azure account needed: the proxy's upstream
// is the simulator, which echoes your voice back (or a tone for silence).
import { ConfigError, loadConfig, loadDemoConfig, readEnv, type Config } from './config';
import { demoEnv, demoHost, demoUrls } from './demo/demo-env';
import { onFreePort } from './demo/free-port';
import type { Logger } from 'pino';
import { stdoutSink } from './observability/log-sink';
import { createLogger } from './observability/logger';
import { startProxy, type ProxyServer } from './server';
import { startSimulator } from './simulator/simulator';

async function main(): Promise<void> {
  const base = readEnv();
  const demo = loadDemoConfig(base);
  const sim = await startSimulator({ port: demo.simulator.port });
  const sink = stdoutSink();
  // The page's origin must be in ALLOWED_ORIGINS before the proxy starts.
  const startAt = async (port: number): Promise<{ cfg: Config; logger: Logger; server: ProxyServer }> => {
    const cfg = loadConfig(demoEnv(base, port, sim.origin, demoHost(process.argv.slice(2))));
    const logger = createLogger({ level: cfg.logLevel, pretty: cfg.logPretty, destination: sink });
    return { cfg, logger, server: await startProxy(cfg, { logger }) };
  };
  let started: Awaited<ReturnType<typeof startAt>>;
  try {
    started = demo.port === 0 ? await onFreePort(startAt) : await startAt(demo.port);
  } catch (err) {
    await sim.close();
    throw err;
  }
  const { cfg, logger, server } = started;
  const urls = demoUrls(server.port);
  process.stdout.write(
    [
      '',
      '  voice-live-proxy demo (upstream: the local Voice Live simulator, no Azure needed)',
      '',
      `  Open the page:       ${urls.page}`,
      `  WebSocket for apps:  ${urls.ws}`,
      `  Allowed origins:     ${cfg.allowedOrigins.join(', ')}`,
      '',
      '  Hold "Talk" and speak: the simulator plays your voice back (a tone if it heard silence).',
      '  Ctrl+C to stop.',
      '',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'demo stopping');
    // A demo has no load balancer to drain for: close sessions right away.
    server
      .shutdown(0)
      .then(() => sim.close())
      .then(
        () => {
          logger.info('demo stopped');
          return 0;
        },
        (err: unknown) => {
          logger.error({ err: String(err) }, 'demo shutdown failed');
          return 1;
        },
      )
      // As in index.ts: the log backlog gets a bounded moment to be written.
      .then((code) => sink.flush().then(() => process.exit(code)));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  const message =
    err instanceof ConfigError
      ? `invalid configuration: ${err.message}`
      : String(err instanceof Error ? err.message : err);
  process.stderr.write(`voice-live-proxy demo: ${message}\n`);
  process.exit(1);
});
