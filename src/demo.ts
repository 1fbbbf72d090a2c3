// `npm run demo`: the Voice Live simulator and the proxy in one process, with
// the browser page switched on. No Azure account needed: the proxy's upstream
// is the simulator, which echoes your voice back (or a tone for silence).
import { ConfigError, loadConfig, readEnv, type Config } from './config';
import { demoHeaderBudget, loadDemoConfig } from './demo/config';
import { demoEnv, demoHost, demoUrls } from './demo/demo-env';
import { onFreePort } from './demo/free-port';
import type { Logger } from 'pino';
import { stdoutSink } from './observability/log-sink';
import { createLogger } from './observability/logger';
import { startProxy, type ProxyServer } from './server';
import { shutdownOnSignals } from './shutdown-signals';
import { startSimulator } from './simulator/simulator';
import { loadUws } from './uws';

async function main(): Promise<void> {
  const base = readEnv();
  const demo = loadDemoConfig(base);
  loadUws(demoHeaderBudget(base));
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

  shutdownOnSignals({
    sink,
    async drain(signal) {
      logger.info({ signal }, 'demo stopping');
      try {
        // A demo has no load balancer to drain for: close sessions right away.
        await server.shutdown(0);
        await sim.close();
      } catch (err) {
        logger.error({ err: String(err) }, 'demo shutdown failed');
        return 1;
      }
      logger.info('demo stopped');
      return 0;
    },
  });
}

main().catch((err: unknown) => {
  const message =
    err instanceof ConfigError
      ? `invalid configuration: ${err.message}`
      : String(err instanceof Error ? err.message : err);
  process.stderr.write(`voice-live-proxy demo: ${message}\n`);
  process.exit(1);
});
