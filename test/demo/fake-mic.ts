// A WAV file for Chromium's fake microphone (--use-file-for-fake-audio-capture,
// which loops it): a steady tone, loud enough that the simulator hears speech
// (RMS well above its -50 dBFS silence floor) and echoes it back.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `seconds` of a `hz` sine, then `silence` seconds of zeros, as 16-bit mono PCM WAV. */
export function toneWav(seconds: number, hz: number, silence = 0, rate = 48_000, amplitude = 0.5): Buffer {
  const tone = Math.round(seconds * rate);
  const samples = tone + Math.round(silence * rate);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < tone; i++) {
    wav.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  }
  return wav;
}

/** Writes the tone into a fresh temp dir; returns the dir (to remove) and the file. */
export function writeFakeMic(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vlp-demo-'));
  const file = join(dir, 'mic-300hz.wav');
  writeFileSync(file, toneWav(1, 300, 1));
  return { dir, file };
}
