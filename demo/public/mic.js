// Microphone -> AudioWorklet (pcm-worklet.js) -> PCM16 24 kHz chunks with
// their level, handed to `onChunk` on the main thread.

/** 50 ms per input_audio_buffer.append: 20 frames a second, 2400 bytes of PCM each. */
export const CHUNK_MS = 50;

export async function startMicrophone(ctx, onChunk) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error('this page needs http://localhost or https:// to use the microphone');
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  await ctx.audioWorklet.addModule('pcm-worklet.js');
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, 'pcm16-capture', {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [1],
    processorOptions: { chunkMs: CHUNK_MS },
  });
  node.port.onmessage = (e) => onChunk(e.data);
  source.connect(node);
  // The node writes nothing to its output; connecting it keeps the graph
  // pulling it, which some browsers need before they call process().
  node.connect(ctx.destination);
  const track = stream.getAudioTracks()[0];
  return {
    label: track ? track.label : 'microphone',
    stop() {
      node.port.onmessage = null;
      source.disconnect();
      node.disconnect();
      for (const t of stream.getTracks()) t.stop();
    },
  };
}

/** Bytes -> base64 without a string per byte: 32 KiB slices through fromCharCode. */
export function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}
