// A caller speaking to the simulator as a browser does: `seconds` of a tone
// loud enough to be echoed, in 100 ms appends of PCM16 at 24 kHz, then a
// commit, so one response echoes it all (the quota tests count both ways);
// and what it hears back until the proxy closes the session.
import { makeTone } from '../../src/simulator/audio';
import type { TestClient } from './client';

/** 100 ms of PCM16 at 24 kHz per append. */
const CHUNK = 4800;

export function speak(c: TestClient, seconds: number): void {
  const pcm = makeTone(300, seconds, 0.3);
  for (let i = 0; i < pcm.length; i += CHUNK)
    c.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: pcm.subarray(i, i + CHUNK).toString('base64') }));
  c.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
}

/** Every JSON event up to the close: the audio heard (ms, PCM16 24 kHz) and the event types in order. */
export async function untilClosed(
  c: TestClient,
): Promise<{ types: string[]; last: Record<string, unknown>; outMs: number }> {
  const types: string[] = [];
  let last: Record<string, unknown> = {};
  let outBytes = 0;
  const closed = c.closed.then(() => null);
  for (;;) {
    const m = await Promise.race([c.nextJson(), closed]);
    if (m === null) break;
    types.push(m.type as string);
    last = m;
    if (m.type === 'response.audio.delta') outBytes += Buffer.from(m.delta as string, 'base64').length;
  }
  return { types, last, outMs: (outBytes * 1000) / 48_000 };
}
