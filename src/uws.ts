// The one place uWebSockets.js is loaded. uWS reads its request-header budget
// from the environment once, when the addon loads, and its default (4 KB) is
// smaller than an MSAL token in the query string plus a browser's headers;
// above the budget it answers 431 before any handler runs.
//
// That happens at the first import, before config.ts reads `.env`, so a value
// set only in `.env` is taken from there here (the real environment still
// wins); config.ts validates it afterwards like every other setting.
import { readEnv } from './config';

const DEFAULT_MAX_HEADER_BYTES = '16384';
process.env.UWS_HTTP_MAX_HEADERS_SIZE ??= readEnv().UWS_HTTP_MAX_HEADERS_SIZE ?? DEFAULT_MAX_HEADER_BYTES;

import uWS = require('uWebSockets.js');
export = uWS;
