// A caller speaking to the simulator as a browser does: `seconds` of a tone
// loud enough to be echoed, in 100 ms appends of PCM16 at 24 kHz, then a
// commit, so one response echoes it all (the quota tests count both ways).
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
