#!/usr/bin/env node
// What one Node TLS client socket holds, apart from the proxy: N sockets to a
// local TLS echo server (its own process), the client's RSS per socket after
// the handshake and after R rounds of K 2.6 KB frames each way, with a
// context per connection (tls.connect's default) or one shared context
// (src/upstream/tls-context.ts). K frames in flight stand for a relay that is
// behind: the peer's records arrive together, and every read is large.
//
//   node bench/tls-socket-memory.mjs [--sockets 1000] [--rounds 20] [--burst 1,10] [--json FILE]
//
// Each variant runs in a fresh process, so RSS deltas do not mix.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { parseArgs, table, fmt, writeJson } from './lib/cli.mjs';
import { benchCertificate } from './lib/tls-cert.mjs';

const SELF = fileURLToPath(import.meta.url);
const FRAME = 2650;

async function server(certFile, keyFile) {
  const tls = await import('node:tls');
  const s = tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (c) => {
    c.on('data', (d) => c.write(d));
    c.on('error', () => undefined);
  });
  s.listen(0, '127.0.0.1', () => process.send(s.address().port));
}

async function client(port, shared, sockets, rounds, burst) {
  const tls = await import('node:tls');
  const ctx = shared ? tls.createSecureContext() : undefined;
  const rss = () => process.memoryUsage().rss / 1024;
  const settle = async () => {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 300));
    globalThis.gc();
  };
  await settle();
  const r0 = rss();
  const list = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < sockets; i++) {
    await new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', secureContext: ctx }, resolve);
      s.on('error', reject);
      list.push(s);
    });
  }
  const connectCpu = process.cpuUsage(c0);
  await settle();
  const r1 = rss();
  const payload = Buffer.alloc(FRAME, 65);
  const c1 = process.cpuUsage();
  for (let round = 0; round < rounds && burst > 0; round++) {
    await Promise.all(
      list.map(
        (s) =>
          new Promise((resolve) => {
            let got = 0;
            const on = (d) => {
              got += d.length;
              if (got < burst * FRAME) return;
              s.off('data', on);
              resolve();
            };
            s.on('data', on);
            for (let j = 0; j < burst; j++) s.write(payload);
          }),
      ),
    );
  }
  const dataCpu = process.cpuUsage(c1);
  await settle();
  const r2 = rss();
  for (const s of list) s.destroy();
  const us = (c) => c.user + c.system;
  return {
    connectedKiB: (r1 - r0) / sockets,
    activeKiB: (r2 - r0) / sockets,
    externalMiB: process.memoryUsage().external / 1048576,
    connectMsPerSocket: us(connectCpu) / 1000 / sockets,
    usPerFrame: burst > 0 ? us(dataCpu) / (sockets * rounds * burst * 2) : NaN,
  };
}

function child(args) {
  return new Promise((resolve, reject) => {
    const p = fork(SELF, args, { execArgv: ['--expose-gc'], env: { ...process.env } });
    p.once('message', resolve);
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${args[0]} exited ${code}`))));
  });
}

if (process.argv[2] === '--server') {
  await server(process.argv[3], process.argv[4]);
} else if (process.argv[2] === '--client') {
  const [port, ctx, sockets, rounds, burst] = process.argv.slice(3);
  const r = await client(Number(port), ctx === 'shared', Number(sockets), Number(rounds), Number(burst));
  process.send(r, () => process.exit(0));
} else {
  const o = parseArgs(process.argv.slice(2), { sockets: 1000, rounds: 20, burst: '1,10', json: '', help: false });
  if (o.help) {
    console.log('node bench/tls-socket-memory.mjs [--sockets N] [--rounds N] [--burst 1,10] [--json FILE]');
    process.exit(0);
  }
  const cert = benchCertificate();
  process.env.NODE_EXTRA_CA_CERTS = cert.cert;
  const srv = fork(SELF, ['--server', cert.cert, cert.key]);
  const port = await new Promise((r) => srv.once('message', r));
  const rows = [];
  try {
    for (const ctx of ['per-connection', 'shared']) {
      for (const burst of [0, ...String(o.burst).split(',').map(Number)]) {
        const r = await child(['--client', String(port), ctx, String(o.sockets), String(o.rounds), String(burst)]);
        rows.push({ context: ctx, burst, ...r });
        console.error(`> ${ctx}, ${burst === 0 ? 'idle' : `${burst} frame(s) in flight`}: ${fmt(r.activeKiB)} KiB`);
      }
    }
  } finally {
    srv.kill();
  }
  console.log(
    table(
      ['context', 'frames in flight', 'KiB/socket after handshake', 'KiB/socket after data', 'connect ms', 'us/frame'],
      rows.map((r) => [
        r.context,
        r.burst === 0 ? 'idle' : r.burst,
        fmt(r.connectedKiB),
        fmt(r.activeKiB),
        fmt(r.connectMsPerSocket, 2),
        fmt(r.usPerFrame, 2),
      ]),
    ),
  );
  if (o.json) writeJson(o.json, { bench: 'tls-socket-memory', date: new Date().toISOString(), options: o, rows });
}
