// `node dist/simulator/cli.js`: a standalone Voice Live simulator, configured
// like the proxy (the environment, and `.env` when present; the real
// environment wins) by its own variables: SIMULATOR_PORT, SIMULATOR_HOST,
// SIMULATOR_REQUIRE_CREDENTIAL, SIMULATOR_TLS_CERT + SIMULATOR_TLS_KEY
// (simulator/config.ts, docs/configuration.md). It prints one JSON line with
// its URL and exits 0 on SIGINT/SIGTERM (a second signal: 1, at once).
import { readEnv } from '../config/env-file';
import { shutdownOnSignals } from '../shutdown-signals';
import { loadSimulatorConfig, type SimulatorConfig } from './config';
import { SIMULATOR_PATH, startSimulator } from './simulator';

function fail(message: string): never {
  process.stderr.write(JSON.stringify({ simulator: 'error', message }) + '\n');
  process.exit(1);
}

async function main(): Promise<void> {
  let cfg: SimulatorConfig;
  try {
    cfg = loadSimulatorConfig(readEnv());
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  const sim = await startSimulator(cfg);
  process.stdout.write(
    JSON.stringify({ simulator: 'listening', url: sim.origin + SIMULATOR_PATH, origin: sim.origin }) + '\n',
  );
  shutdownOnSignals({
    async drain(signal) {
      await sim.close();
      // stderr: stdout carries exactly one line, the URL, for scripts to read.
      process.stderr.write(JSON.stringify({ simulator: 'stopped', signal, stats: sim.stats }) + '\n');
      return 0;
    },
  });
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
