// Entry point (also the PM2 and Docker entry): config, start, signals.
import { ConfigError, loadConfig, readEnv, type Config } from './config';
import { createLogger } from './observability/logger';
import { startRuntime } from './runtime';
import { runPrimary } from './cluster/primary';

function configOrExit(): Config {
  try {
    return loadConfig(readEnv());
  } catch (err) {
    // One line naming the variable: what an operator reads in `docker logs`.
    const message = err instanceof ConfigError ? err.message : String(err);
    process.stderr.write(`voice-live-proxy: invalid configuration: ${message}\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const cfg = configOrExit();
  const logger = createLogger({ level: cfg.logLevel, pretty: cfg.logPretty });
  if (cfg.workers > 1) {
    runPrimary(cfg, logger);
    return;
  }
  const { server, stop } = await startRuntime(cfg, logger, { reportsActive: true });
  logger.info({ port: server.port, host: cfg.host, upstream: cfg.upstreamOrigin, maxConnections: cfg.maxConnections },
    'voice-live-proxy listening');

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal, graceMs: cfg.shutdownGraceMs, sessions: server.relay.sessions.size }, 'draining');
    stop(cfg.shutdownGraceMs)
      .then(() => {
        logger.info('shutdown complete');
        process.exit(0);
      }, (err: unknown) => {
        logger.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(`voice-live-proxy: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
