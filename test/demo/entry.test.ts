// `npm run demo` as a newcomer runs it: one process, URLs printed, the page
// and the socket working from the printed origin, exit 0 on Ctrl+C. Runs
// src/demo.ts with this test's own TypeScript loader (process.execArgv).
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import WebSocket from 'ws';

const ENTRY = join(__dirname, '..', '..', 'src', 'demo.ts');

t.test('npm run demo: prints the URLs, serves the page, stops on SIGINT with its last log line', async (t) => {
  const child = spawn(process.execPath, [...process.execArgv, ENTRY], {
    env: { ...process.env, PORT: '0', SIMULATOR_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ALLOWED_ORIGINS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => {
    out += c;
  });
  const banner = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: string) => {
      out += c;
      if (out.includes('Ctrl+C')) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`demo exited ${code}: ${out}`)));
  });
  const page = /Open the page: +(http:\/\/localhost:(\d+)\/demo\/)/.exec(banner);
  const ws = /WebSocket for apps: +(ws:\/\/localhost:\d+\/ws\?model=gpt-realtime)/.exec(banner);
  t.ok(page, 'page URL printed');
  t.ok(ws, 'WebSocket URL printed');
  if (page === null || ws === null) return;
  const port = page[2];

  const res = await fetch(`http://127.0.0.1:${port}/demo/`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/html/);

  // A browser on the printed page sends Origin http://localhost:PORT.
  const client = new WebSocket(ws[1].replace('localhost', '127.0.0.1'), {
    headers: { origin: `http://localhost:${port}` },
  });
  const [first] = (await once(client, 'message')) as [Buffer];
  t.equal(JSON.parse(first.toString()).type, 'session.created', 'the simulator answers through the proxy');
  client.close();
  await once(client, 'close');

  child.kill('SIGINT');
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 0, 'exit 0 on SIGINT');
  const lines = out.split('\n').filter((l) => l.startsWith('{'));
  t.equal(JSON.parse(lines[lines.length - 1]).msg, 'demo stopped', 'the last log line is written before the exit');
});

t.test('npm run demo: a bad PORT is one clear line and exit 1', async (t) => {
  const child = spawn(process.execPath, [...process.execArgv, ENTRY], {
    env: { ...process.env, PORT: 'eighty', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => {
    err += c;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 1);
  t.match(err, /voice-live-proxy demo: invalid configuration: PORT: expected an integer from 0 to 65535, got "eighty"/);
});
