// `node dist/simulator/cli.js`: a standalone Voice Live simulator.
// SIMULATOR_PORT (default 8090), SIMULATOR_HOST (default 127.0.0.1),
// SIMULATOR_REQUIRE_CREDENTIAL (default true) and SIMULATOR_TLS_CERT +
// SIMULATOR_TLS_KEY (PEM files: serve wss://) configure it; it prints one
// JSON line with its URL and exits 0 on SIGINT/SIGTERM.
import { SIMULATOR_PATH, startSimulator } from './simulator';

function fail(message: string): never {
  process.stderr.write(JSON.stringify({ simulator: 'error', message }) + '\n');
  process.exit(1);
}

function envPort(): number {
  const raw = process.env.SIMULATOR_PORT ?? '8090';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) fail(`SIMULATOR_PORT: expected a port number 0-65535, got ${JSON.stringify(raw)}`);
  return port;
}

function envBool(name: string, fallback: boolean): boolean {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  return fail(`${name}: expected true or false, got ${JSON.stringify(raw)}`);
}

/** SIMULATOR_TLS_CERT + SIMULATOR_TLS_KEY (PEM files): serve wss://. */
function envTls(): { certFile: string; keyFile: string } | undefined {
  const certFile = process.env.SIMULATOR_TLS_CERT ?? '';
  const keyFile = process.env.SIMULATOR_TLS_KEY ?? '';
  if (certFile === '' && keyFile === '') return undefined;
  if (certFile === '' || keyFile === '') fail('SIMULATOR_TLS_CERT and SIMULATOR_TLS_KEY: set both or neither');
  return { certFile, keyFile };
}

async function main(): Promise<void> {
  const host = process.env.SIMULATOR_HOST || '127.0.0.1';
  const sim = await startSimulator({
    host,
    port: envPort(),
    requireCredential: envBool('SIMULATOR_REQUIRE_CREDENTIAL', true),
    tls: envTls(),
  });
  process.stdout.write(JSON.stringify({ simulator: 'listening', url: sim.origin + SIMULATOR_PATH, origin: sim.origin }) + '\n');
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
