// A raw TCP upgrade request: for floods and for clients that vanish mid-upgrade,
// which a WebSocket library would not let us do.
import { connect, type Socket } from 'node:net';

export function upgradeRequest(port: number, opts: { origin?: string; path?: string; extra?: string } = {}): string {
  return (
    `GET ${opts.path ?? '/ws'} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
    `Origin: ${opts.origin ?? 'http://localhost:3000'}\r\n${opts.extra ?? ''}\r\n`
  );
}

/** Sends an upgrade and resolves with the status code of the response, then closes. */
export function rawUpgradeStatus(
  port: number,
  localAddress = '127.0.0.1',
  request = upgradeRequest(port),
): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect({ host: '127.0.0.1', port, localAddress });
    let buf = '';
    sock.setEncoding('latin1');
    sock.once('connect', () => sock.write(request));
    sock.on('data', (d: string) => {
      buf += d;
      const eol = buf.indexOf('\r\n');
      if (eol === -1) return;
      resolve(Number(buf.slice(9, 12)));
      sock.destroy();
    });
    sock.once('error', reject);
    sock.once('close', () => resolve(0));
  });
}

/** Sends an upgrade request and vanishes without reading the answer. */
export function upgradeAndVanish(port: number): Promise<void> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.write(upgradeRequest(port), () => {
        sock.resetAndDestroy();
        resolve();
      });
    });
    sock.once('error', () => resolve());
  });
}
