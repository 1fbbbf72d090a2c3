// `voice-live-proxy mint-ticket --sub <user> [--ttl 60] [--origin <origin>] [--aud voice-live-proxy]`
// (or `node dist/cli/mint-ticket.js ...`): prints one ticket on stdout. The
// secret comes from TICKET_SECRET in the environment (or .env), validated as
// the proxy validates it, never from the command line, where `ps` and shell
// history would show it.
import { parseArgs } from 'node:util';
import { ConfigError, loadTicketConfig, readEnv } from '../config';
import { SCHEMA } from '../config/schema';
import { EnvReader } from '../config/spec';
import { DEFAULT_TICKET_TTL_S, mintTicket } from '../auth/mint-ticket';
import { commandHelp } from './help';

const USAGE = commandHelp('mint-ticket');
/** The longest --ttl mintTicket signs; past TICKET_MAX_TTL_S the proxy refuses it anyway. */
const TTL_LIMIT_S = 86_400;

/** --ttl as whole seconds, or the message naming the option. */
function parseTtl(raw: string | undefined): number | string {
  if (raw === undefined) return DEFAULT_TICKET_TTL_S;
  const ttl = Number(raw);
  return /^\d+$/.test(raw.trim()) && ttl >= 1 && ttl <= TTL_LIMIT_S
    ? ttl
    : `--ttl must be whole seconds from 1 to ${TTL_LIMIT_S}, not ${JSON.stringify(raw)}`;
}

export async function runMintTicket(
  argv: readonly string[],
  env = readEnv(),
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  let values: { sub?: string; ttl?: string; origin?: string; aud?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        sub: { type: 'string' },
        ttl: { type: 'string' },
        origin: { type: 'string' },
        aud: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`mint-ticket: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    out.write(USAGE);
    return 0;
  }
  let cfg: ReturnType<typeof loadTicketConfig>;
  let maxTtl: number;
  try {
    cfg = loadTicketConfig(env);
    maxTtl = new EnvReader(
      env,
      SCHEMA.filter((s) => s.name === 'TICKET_MAX_TTL_S'),
    ).int('TICKET_MAX_TTL_S');
  } catch (err) {
    process.stderr.write(`mint-ticket: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    return 2;
  }
  if (values.sub === undefined || cfg.ticketSecret === '') {
    process.stderr.write(
      `mint-ticket: ${values.sub === undefined ? '--sub is required' : 'TICKET_SECRET is not set (in the environment or ./.env)'}\n\n${USAGE}`,
    );
    return 2;
  }
  const ttl = parseTtl(values.ttl);
  if (typeof ttl === 'string') {
    process.stderr.write(`mint-ticket: ${ttl}\n`);
    return 2;
  }
  if (ttl > maxTtl) {
    process.stderr.write(
      `mint-ticket: warning: --ttl ${ttl} is longer than TICKET_MAX_TTL_S (${maxTtl}): a proxy with that setting refuses this ticket (auth_invalid); use --ttl ${maxTtl} or less, or raise TICKET_MAX_TTL_S on the proxy\n`,
    );
  }
  try {
    const ticket = await mintTicket({
      sub: values.sub,
      secret: cfg.ticketSecret,
      ttlSeconds: ttl,
      origin: values.origin,
      audience: values.aud ?? cfg.ticketAudience,
    });
    out.write(`${ticket}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`mint-ticket: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

if (require.main === module) {
  runMintTicket(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = 1;
    },
  );
}
