// A plain GET from a chosen local address (fetch cannot pick one), answered
// with status, headers and the whole body.
import { request } from 'node:http';

export interface GetAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export function httpGet(
  port: number,
  path: string,
  localAddress = '127.0.0.1',
  headers: Record<string, string> = {},
): Promise<GetAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}
