// Entry point (also the PM2 and Docker entry): config, start, signals.
import {
  checkUnknownVariables,
  ConfigError,
  loadConfig,
  readEnv,
  startSummary,
  type Config,
  type UnknownVariable,
} from './config';
import { createLogger } from './observability/logger';
import { stdoutSink } from './observability/log-sink';
import { startRuntime } from './runtime';
import { runPrimary } from './cluster/primary';
import { warnUnboundedSocketBuffers } from './kernel-socket-buffers';
import { followParent, relaunchWithYoungGeneration, warnDefaultYoungGeneration } from './cluster/young-generation';
import { exitAfterFlush, shutdownOnSignals } from './shutdown-signals';
import { reportStartFailure } from './start-failure';
import { warnOpenAccess } from './auth/open-access';
import { loadUws } from './uws';

function configOrExit(): { cfg: Config; unknown: UnknownVariable[] } {
  try {
    const env = readEnv();
    const cfg = loadConfig(env);
    // Here and not in loadConfig: an embedder's environment holds its own
    // variables; this process's environment is the proxy's alone.
    return { cfg, unknown: checkUnknownVariables(env, cfg.strictConfig) };
  } catch (err) {
    // One line naming the variable: what an operator reads in `docker logs`.
    const message = err instanceof ConfigError ? err.message : String(err);
    process.stderr.write(`voice-live-proxy: invalid configuration: ${message}\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const { cfg, unknown } = configOrExit();
  // One relay thread needs node's --max-semi-space-size, which only a new
  // node can take: this process then only waits on that one, which does the
  // rest, start-up warnings included (young-generation.ts).
  if (cfg.workers === 1 && relaunchWithYoungGeneration()) return;
  followParent();
  // Here, in the main thread, before anything touches uWS: worker threads
  // share this load of the addon, and with it the request-header budget.
  loadUws(cfg.uwsMaxHeadersSize);
  const sink = stdoutSink();
  const logger = createLogger({ level: cfg.logLevel, pretty: cfg.logPretty, destination: sink });
  // The name only: the value may be a secret (AZURE_SPEECH_KY=...).
  for (const u of unknown) logger.warn(u, 'unknown variable ignored');
  warnOpenAccess(cfg, logger);
  if (cfg.workers > 1) {
    runPrimary(cfg, logger, sink);
    return;
  }
  let started: Awaited<ReturnType<typeof startRuntime>>;
  try {
    started = await startRuntime(cfg, logger, { reportsActive: true });
  } catch (err) {
    reportStartFailure(err instanceof Error ? err.message : String(err), logger);
    exitAfterFlush(1, sink);
    return;
  }
  const { server, stop } = started;
  logger.info({ port: server.port, host: cfg.host, ...startSummary(cfg) }, 'voice-live-proxy listening');
  warnUnboundedSocketBuffers(logger);
  warnDefaultYoungGeneration(logger);

  shutdownOnSignals({
    sink,
    async drain(signal) {
      logger.info({ signal, graceMs: cfg.shutdownGraceMs, sessions: server.relay.sessions.size }, 'draining');
      try {
        await stop(cfg.shutdownGraceMs);
      } catch (err) {
        logger.error({ err: String(err) }, 'shutdown failed');
        return 1;
      }
      logger.info({ logLinesDropped: sink.dropped }, 'shutdown complete');
      return 0;
    },
    now(signal) {
      // At once: no wait for sessions or for a log reader.
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    },
  });
}

main().catch((err: unknown) => {
  reportStartFailure(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
