// The `voice-live-proxy` command's words: its usage, each command's help
// (with the environment variables that command reads, taken from the same
// tables the configuration is read from, so the help cannot fall behind),
// and what it says about an argument it does not know.
import { GROUPS, SCHEMA } from '../config/schema';
import type { VarSpec } from '../config/spec';
import { SIMULATOR_SCHEMA } from '../simulator/config';

export const COMMAND = 'voice-live-proxy';

export type CommandName = 'serve' | 'demo' | 'simulator' | 'mint-ticket' | 'usage' | 'loadtest';

/** `start` is the name older scripts use for `serve`. */
export const COMMANDS: Readonly<Record<string, CommandName>> = {
  serve: 'serve',
  start: 'serve',
  demo: 'demo',
  simulator: 'simulator',
  'mint-ticket': 'mint-ticket',
  usage: 'usage',
  loadtest: 'loadtest',
};

/** Variable names, wrapped under a heading, at most `width` columns. */
function names(heading: string, rows: readonly VarSpec[], width = 78): string {
  const lines = [`  ${heading}:`];
  let line = '   ';
  for (const r of rows) {
    if (line.length + r.name.length + 1 > width) {
      lines.push(line);
      line = '   ';
    }
    line += ` ${r.name}`;
  }
  lines.push(line);
  return lines.join('\n') + '\n';
}

const ticketRows = SCHEMA.filter((s) => ['TICKET_SECRET', 'TICKET_AUDIENCE', 'TICKET_MAX_TTL_S'].includes(s.name));
/** What `usage` reads: its help lists them and its reader is limited to them. */
export const USAGE_ROWS = SCHEMA.filter((s) =>
  [
    'REDIS_URL',
    'FLEET_KEY_PREFIX',
    'FLEET_REDIS_TIMEOUT_MS',
    'QUOTA_AUDIO_MINUTES_PER_DAY',
    'QUOTA_TOKENS_PER_DAY',
  ].includes(s.name),
);
const demoRows = SCHEMA.filter((s) => s.name === 'PORT' || s.name === 'UWS_HTTP_MAX_HEADERS_SIZE');

export const USAGE = `Usage: ${COMMAND} [command] [options]

Commands:
  serve            start the proxy (the default)
  demo             the proxy with the Voice Live simulator behind it and the
                   browser page on; no Azure account needed
  simulator        a standalone Voice Live simulator, for tests and load runs
  mint-ticket      print a ticket for CLIENT_AUTH=ticket
  usage            print one caller's use over the rolling day (REDIS_URL)
  loadtest         drive sessions at a deployment and report opens, refusals,
                   loss and round trips (docs/load-testing.md)

Settings are environment variables (and ./.env), not options:
  PORT=9000 ${COMMAND}
'${COMMAND} <command> --help' lists the variables a command reads;
docs/configuration.md describes them.

Options:
  -h, --help       print this help
  -v, --version    print the version
`;

export function commandHelp(command: CommandName): string {
  switch (command) {
    case 'serve':
      return (
        `Usage: ${COMMAND} [serve]\n\n` +
        'Starts the proxy. It takes no options: it reads these environment variables\n' +
        '(and ./.env in the working directory; the environment wins), described in\n' +
        'docs/configuration.md:\n\n' +
        GROUPS.map((g) =>
          names(
            g,
            SCHEMA.filter((s) => s.group === g),
          ),
        ).join('')
      );
    case 'demo':
      return (
        `Usage: ${COMMAND} demo [--host <address>]\n\n` +
        'The proxy with the Voice Live simulator as its upstream and the demo page on,\n' +
        'listening on 127.0.0.1 (--host to listen elsewhere). Its own variables:\n\n' +
        names('The page and the proxy (PORT=0, the default here: any free port)', demoRows) +
        names('The simulator (SIMULATOR_PORT defaults to any free port here)', SIMULATOR_SCHEMA) +
        `\nEvery other variable of '${COMMAND} serve --help' applies too, except those the\n` +
        'demo sets itself: HOST, AZURE_VOICE_LIVE_ENDPOINT, AZURE_SPEECH_KEY, DEMO, WORKERS;\n' +
        'ALLOWED_ORIGINS gains the page.\n'
      );
    case 'simulator':
      return (
        `Usage: ${COMMAND} simulator\n\n` +
        'A standalone Voice Live simulator (no Azure): prints one JSON line with its URL.\n' +
        'It reads these environment variables (and ./.env):\n\n' +
        names('Simulator', SIMULATOR_SCHEMA)
      );
    case 'mint-ticket':
      return (
        `Usage: ${COMMAND} mint-ticket --sub <user> [--ttl <seconds>] [--origin <origin>] [--aud <audience>]\n\n` +
        'Prints a ticket for CLIENT_AUTH=ticket, signed (HS256) with TICKET_SECRET.\n' +
        '  --sub      the user (required)\n' +
        '  --ttl      seconds until it expires (default 60; at most TICKET_MAX_TTL_S,\n' +
        '             or the proxy refuses it)\n' +
        '  --origin   the only page origin it is good for\n' +
        '  --aud      the audience (default TICKET_AUDIENCE)\n\n' +
        'It reads these environment variables (and ./.env), never the secret from\n' +
        'the command line, where ps and shell history would show it:\n\n' +
        names('Tickets', ticketRows)
      );
    case 'usage':
      return (
        `Usage: ${COMMAND} usage (--subject <sub> | --address <ip>)\n\n` +
        "Prints one caller's use over the last 24 hours across the fleet, as one JSON\n" +
        'line: the verified subject (CLIENT_AUTH), or the address (IPv6: its /64).\n' +
        'It reads these environment variables (and ./.env):\n\n' +
        names('Fleet and quotas', USAGE_ROWS)
      );
    case 'loadtest':
      return (
        `Usage: ${COMMAND} loadtest --url <ws:// or wss:// session URL> [options]\n\n` +
        'Opens --sessions sessions (over --ramp seconds), sends audio appends at --rate\n' +
        'per session for --duration seconds, and reports sessions opened, refusals by\n' +
        'status or close code, frames sent and received, loss, out-of-order frames,\n' +
        'round trips and its own CPU. A progress line a second on stderr; the report\n' +
        'on stdout. Exit 1 when a --max-* threshold is missed. Ctrl-C (SIGINT) or\n' +
        'SIGTERM stops the load, closes the sessions and prints the report so far,\n' +
        'marked interrupted, then exits 130 (143 for SIGTERM); a second one exits at\n' +
        'once. docs/load-testing.md.\n\n' +
        '  --url            the session URL, e.g. ws://proxy:8080/ws?model=gpt-realtime\n' +
        '  --sessions       concurrent sessions (default 100)\n' +
        '  --rate           appends per second per session (default 25)\n' +
        '  --frame-bytes    PCM16 bytes per append (default: real-time audio at --rate)\n' +
        '  --duration       seconds of load after the ramp (default 30)\n' +
        '  --ramp           seconds over which the sessions open (default 5)\n' +
        '  --origin         the Origin header (a page origin in ALLOWED_ORIGINS)\n' +
        '  --json           the report as one JSON object\n' +
        '  --max-p99-ms     fail when the round trip p99 (turns: commit to first audio) is higher\n' +
        '  --max-loss       fail when the lost share of appends (0..1) is higher\n' +
        '  --threads        generator threads (default: one per 2500 sessions, up to the cores)\n' +
        '  --ca <file>      wss://: PEM certificates to trust; --insecure trusts any\n' +
        '  --source-ips     a.b.c.X-Y: local addresses to spread the sessions over\n' +
        '  --token-file     CLIENT_AUTH=token: a file holding the user token every\n' +
        '                   session presents (or LOADTEST_BEARER_TOKEN)\n' +
        '  --upstream       auto (default: one probe session tells), simulator, voice-live\n' +
        '  --i-know-this-costs  against real Voice Live, run past the cap of 10\n' +
        '                   session-minutes (sessions x (ramp + duration))\n' +
        '  --quiet          no progress line\n\n' +
        'Against the simulator (voice-live-proxy simulator as the deployment upstream)\n' +
        'every append comes back and is timed; against real Voice Live it measures\n' +
        'opens and turn latency only, and warns about the cost first. With CLIENT_AUTH=\n' +
        'ticket, set TICKET_SECRET (and TICKET_AUDIENCE) in the environment or ./.env:\n' +
        'one ticket is minted per session. With CLIENT_AUTH=token, one user token for\n' +
        'every session from LOADTEST_BEARER_TOKEN or --token-file. Never on the\n' +
        'command line.\n'
      );
  }
}

/**
 * What to say about an argument that is neither a command nor an option:
 * an option named like a variable (`--port 9000`) is answered with the
 * variable (`PORT=9000`).
 */
export function unknownArgument(arg: string, next?: string, command?: CommandName): string {
  const where = command === undefined ? COMMAND : `${COMMAND} ${command}`;
  if (!arg.startsWith('-')) {
    return `${COMMAND}: unknown command ${JSON.stringify(arg)}; the commands are serve, demo, simulator, mint-ticket, usage, loadtest (${COMMAND} --help)\n`;
  }
  const [flag, inline] = arg.split('=', 2);
  const variable = flag.replace(/^-+/, '').toUpperCase().replace(/-/g, '_');
  const known = [...SCHEMA, ...SIMULATOR_SCHEMA].some((s) => s.name === variable);
  const value = inline ?? (next !== undefined && !next.startsWith('-') ? next : '<value>');
  const example = known ? `, e.g. ${variable}=${value} ${where}` : ` ('${where} --help' lists them)`;
  return `${COMMAND}: unknown option ${flag}: settings are environment variables${example}\n`;
}
