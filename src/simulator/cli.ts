// `node dist/simulator/cli.js`: a standalone Voice Live simulator.
// SIMULATOR_PORT (default 8090), SIMULATOR_HOST (default 127.0.0.1),
// SIMULATOR_REQUIRE_CREDENTIAL (default true) and SIMULATOR_TLS_CERT +
// SIMULATOR_TLS_KEY (PEM files: serve wss://) configure it; it prints one
// JSON line with its URL and exits 0 on SIGINT/SIGTERM.
import { loadSimulatorConfig, type SimulatorConfig } from '../config';
import { SIMULATOR_PATH, startSimulator } from './simulator';

function fail(message: string): never {
  process.stderr.write(JSON.stringify({ simulator: 'error', message }) + '\n');
  process.exit(1);
}

async function main(): Promise<void> {
  let cfg: SimulatorConfig;
  try {
    cfg = loadSimulatorConfig(process.env);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  const sim = await startSimulator(cfg);
  process.stdout.write(
    JSON.stringify({ simulator: 'listening', url: sim.origin + SIMULATOR_PATH, origin: sim.origin }) + '\n',
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    void sim.close().then(() => {
      // stderr: stdout carries exactly one line, the URL, for scripts to read.
      process.stderr.write(JSON.stringify({ simulator: 'stopped', signal, stats: sim.stats }) + '\n');
      process.exit(0);
    });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
