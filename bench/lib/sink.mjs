// A WebSocket sink for bench/generator.mjs: answers the upgrade, sends one
// session.created, then reads and discards everything (no echo, no parsing),
// so that what the generator's machine spends besides the generator is as
// small as a receiver can make it. Prints {"port":N} once listening.
import net from 'node:net';
import { createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const CREATED = Buffer.from('{"type":"session.created","session":{}}');
const createdFrame = Buffer.concat([Buffer.from([0x81, CREATED.length]), CREATED]);

const server = net.createServer((sock) => {
  let head = '';
  function onHead(d) {
    head += d.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) return;
    sock.off('data', onHead);
    const key = /\r\nsec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
    const accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    sock.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    sock.write(createdFrame);
    sock.on('data', discard);
  }
  sock.setNoDelay(true);
  sock.on('data', onHead);
  sock.on('error', () => {});
});
function discard() {}
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
