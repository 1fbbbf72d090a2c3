// The small WebSocket client of the shared load generator (src/loadtest/raw-ws.ts).
import { loadtestModule } from './dist.mjs';

export const { RawSocket, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, MASK, buildFrame, patchDigits, readDigits } =
  loadtestModule('raw-ws');
