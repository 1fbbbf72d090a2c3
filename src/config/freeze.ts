// A Config that crossed a thread (workerData is a structured clone: plain,
// unfrozen objects) frozen again, so a worker holds it as the main thread does.
import type { Config } from './types';

export function refreeze(copy: Config): Config {
  for (const value of Object.values(copy) as unknown[]) {
    // Typed arrays (trustProxy's ranges) cannot be frozen; their holder can.
    if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
      if (Array.isArray(value))
        for (const item of value as unknown[]) if (typeof item === 'object') Object.freeze(item);
      Object.freeze(value);
    }
  }
  return Object.freeze(copy);
}
