// The environment the process is configured from.
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { Env } from './types';

/**
 * process.env merged with `.env` (when present); real environment wins, as
 * with dotenv, so a container's settings are never overridden by a stray file.
 */
export function readEnv(file = '.env', base: Env = process.env): Env {
  if (!existsSync(file)) return base;
  return { ...parseEnv(readFileSync(file, 'utf8')), ...base };
}
