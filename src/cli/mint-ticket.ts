// `voice-live-proxy mint-ticket --sub <user> [--ttl 60] [--origin <origin>] [--aud voice-live-proxy]`
// (or `node dist/cli/mint-ticket.js ...`): prints one ticket on stdout. The
// secret comes from TICKET_SECRET in the environment (or .env), validated as
// the proxy validates it, never from the command line, where `ps` and shell
// history would show it.
import { parseArgs } from 'node:util';
import { ConfigError, loadTicketConfig, readEnv } from '../config';
import { mintTicket } from '../auth/mint-ticket';

const USAGE =
  'usage: mint-ticket --sub <user> [--ttl <seconds>] [--origin <origin>] [--aud <audience>]\n' +
  '  TICKET_SECRET (environment or .env) signs the ticket (HS256).\n';

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
    process.stderr.write(`mint-ticket: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    out.write(USAGE);
    return 0;
  }
  let cfg: ReturnType<typeof loadTicketConfig>;
  try {
    cfg = loadTicketConfig(env);
  } catch (err) {
    process.stderr.write(`mint-ticket: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    return 2;
  }
  if (values.sub === undefined || cfg.ticketSecret === '') {
    process.stderr.write(
      `mint-ticket: ${values.sub === undefined ? '--sub is required' : 'TICKET_SECRET is not set'}\n${USAGE}`,
    );
    return 2;
  }
  try {
    const ticket = await mintTicket({
      sub: values.sub,
      secret: cfg.ticketSecret,
      ttlSeconds: values.ttl === undefined ? undefined : Number(values.ttl),
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
