#!/usr/bin/env node
// The `voice-live-proxy` command (package.json `bin`). With no command it
// starts the proxy exactly as `node dist/index.js` does (configured by the
// environment and ./.env); the other commands are small tools around it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const PKG = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};

const HELP = `Usage: ${PKG.name} [command] [options]

Commands:
  start            start the proxy (the default); configured by environment
                   variables and ./.env (docs/configuration.md)
  mint-ticket      print a ticket for CLIENT_AUTH=ticket:
                   mint-ticket --sub <user> [--ttl <s>] [--origin <o>] [--aud <a>]
                   (signed with TICKET_SECRET from the environment or ./.env)
Options:
  -h, --help       print this help
  -v, --version    print the version
`;

function main(argv: readonly string[]): void {
  const [first] = argv;
  if (first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${PKG.version}\n`);
    return;
  }
  if (first === undefined || first === 'start') {
    // Loading the entry starts the proxy and installs its signal handlers.
    require('./index');
    return;
  }
  if (first === 'mint-ticket') {
    const { runMintTicket } = require('./cli/mint-ticket') as typeof import('./cli/mint-ticket');
    runMintTicket(argv.slice(1)).then(
      (code) => {
        process.exitCode = code;
      },
      () => {
        process.exitCode = 1;
      },
    );
    return;
  }
  process.stderr.write(`${PKG.name}: unknown command ${JSON.stringify(first)}\n\n${HELP}`);
  process.exitCode = 2;
}

main(process.argv.slice(2));
