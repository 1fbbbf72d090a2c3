// Before a run: is the target the simulator (whose raw echo gives every
// append a round trip) or a real Voice Live upstream (billed per session,
// where only opens and turn latency can be measured)? One session opens,
// asks for the simulator's raw echo and sends one append; the simulator
// returns it byte for byte, Voice Live answers with an error event.
import { RawSocket, OP_TEXT, buildFrame, type RawHandlers, type RawSocketOptions } from './raw-ws';
import { appendTemplates, ECHO_ON, pcmBytesFor } from './audio';

export type ProbeResult =
  { readonly kind: 'simulator' | 'voice-live' | 'interrupted' } | { readonly kind: 'refused'; readonly reason: string };

const CREATED = '{"type":"session.created"';

/** `signal`: the operator stopped the command; the probe ends at once (`interrupted`). */
export function probeUpstream(
  url: string,
  opts: RawSocketOptions,
  timeoutMs = 10_000,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const [append] = appendTemplates(pcmBytesFor(20));
  const payload = Buffer.alloc(append.payloadLen);
  // The template's payload, unmasked: what the echo must equal.
  for (let i = 0; i < payload.length; i++)
    payload[i] = append.frame[append.payloadOffset + i] ^ append.frame[append.payloadOffset - 4 + (i & 3)];
  return new Promise((resolve) => {
    let sock: RawSocket | null = null;
    let created = false;
    let settled = false;
    const finish = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(quiet);
      signal?.removeEventListener('abort', stopped);
      sock?.close(1000);
      resolve(r);
    };
    const stopped = (): void => finish({ kind: 'interrupted' });
    let quiet: NodeJS.Timeout | undefined;
    const timer = setTimeout(
      () => finish(created ? { kind: 'voice-live' } : { kind: 'refused', reason: 'no session.created in time' }),
      timeoutMs,
    );
    const h: RawHandlers = {
      onOpen() {},
      onFrame(op, buf, start, end) {
        if (op !== OP_TEXT) return;
        if (!created) {
          if (buf.toString('utf8', start, start + CREATED.length) !== CREATED) return;
          created = true;
          sock!.send(buildFrame(ECHO_ON).frame);
          sock!.send(append.frame);
          // Past this, silence means a real upstream that ignores what it does not know.
          clearTimeout(timer);
          quiet = setTimeout(() => finish({ kind: 'voice-live' }), 3_000);
          return;
        }
        if (end - start === payload.length && payload.equals(buf.subarray(start, end))) finish({ kind: 'simulator' });
      },
      onClose(code, why) {
        if (created) finish({ kind: 'voice-live' });
        else finish({ kind: 'refused', reason: why === 'close' ? `close ${code}` : why });
      },
    };
    if (signal?.aborted === true) {
      finish({ kind: 'interrupted' });
      return;
    }
    signal?.addEventListener('abort', stopped);
    sock = new RawSocket(url, opts, h);
  });
}
