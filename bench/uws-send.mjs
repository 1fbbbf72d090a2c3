#!/usr/bin/env node
// One uWS send to a browser from outside uWS's callbacks (where the outbox
// sends from: an upstream socket's read), in user-space instructions counted
// by callgrind: wrapped in ws.cork() as the outbox does for a run of frames,
// or bare, where uWS's own send corks and uncorks by itself. The cork costs a
// call from native code back into JavaScript. The relay-level count
// (bench/instructions.mjs) moves too much between runs to show a difference
// this size; this does not.
//
//   node bench/uws-send.mjs [--sends 40000] [--frame-bytes 2644]
//
// The process runs itself under callgrind three times: sending nothing, each
// send corked, each send bare; a separate process reads the frames (a `ws`
// client), and the sends go in slices of 1000 so it keeps up. (Each mode's
// count minus the no-send count) / sends = the cost of one send.
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/cli.mjs';
import { ROOT, requireValgrind } from './lib/procs.mjs';

const o = parseArgs(process.argv.slice(2), { sends: 40000, frameBytes: 2644, child: '', help: false });
const SLICE = 1000;

if (o.help) {
  console.log('node bench/uws-send.mjs [--sends 40000] [--frame-bytes 2644]');
} else if (o.child !== '') {
  child(o.child);
} else {
  requireValgrind();
  // callgrind reports on stderr: merged into what the shell returns.
  const count = (mode) => {
    const out = execFileSync(
      'sh',
      [
        '-c',
        `valgrind --tool=callgrind --callgrind-out-file=/dev/null "${process.execPath}" "${fileURLToPath(import.meta.url)}" --child ${mode} --sends ${o.sends} --frame-bytes ${o.frameBytes} 2>&1`,
      ],
      { encoding: 'utf8' },
    );
    return Number(/Collected : (\d+)/.exec(out)?.[1] ?? NaN);
  };
  const base = count('none');
  const corked = count('cork');
  const bare = count('bare');
  const per = (n) => Math.round((n - base) / o.sends);
  console.log(
    JSON.stringify({
      bench: 'uws-send',
      sends: o.sends,
      frameBytes: o.frameBytes,
      instructionsPerSendCorked: per(corked),
      instructionsPerSendBare: per(bare),
    }),
  );
}

function child(mode) {
  const require = createRequire(join(ROOT, 'package.json'));
  const uWS = require('uWebSockets.js');
  const frame = Buffer.alloc(o.frameBytes, 7);
  let sock = null;
  let reader = null;
  let sent = 0;
  const sendCorked = () => sock.send(frame, true);
  const slice = () => {
    for (let i = 0; i < SLICE; i++) {
      if (mode === 'cork') sock.cork(sendCorked);
      else if (mode === 'bare') sock.send(frame, true);
    }
    sent += SLICE;
    if (sent < o.sends) setTimeout(slice, 1);
    else {
      reader.kill();
      process.exit(0);
    }
  };
  const app = uWS.App().ws('/*', {
    maxBackpressure: 1 << 30,
    open: (ws) => {
      sock = ws;
      setTimeout(slice, 300);
    },
  });
  app.listen('127.0.0.1', 0, (ls) => {
    const port = uWS.us_socket_local_port(ls);
    reader = spawn(
      process.execPath,
      [
        '-e',
        `const W = require(${JSON.stringify(require.resolve('ws'))});` +
          `new W('ws://127.0.0.1:${port}').on('message', () => {});`,
      ],
      { stdio: 'inherit' },
    );
  });
}
