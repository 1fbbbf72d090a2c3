#!/usr/bin/env node
// The `voice-live-proxy` command (package.json `bin`). With no command, or
// `serve`, it starts the proxy exactly as `node dist/index.js` does
// (configured by the environment and ./.env); `demo`, `simulator`,
// `mint-ticket`, `usage` and `loadtest` are the tools around it. Settings are environment variables,
// never options: an option is answered with the variable it looks like.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, commandHelp, unknownArgument, USAGE, type CommandName } from './cli/help';

const PKG = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };

const isHelp = (a: string | undefined): boolean => a === '-h' || a === '--help';

function fail(message: string): void {
  process.stderr.write(message);
  process.exitCode = 2;
}

function main(argv: readonly string[]): void {
  const [first] = argv;
  if (isHelp(first) || first === 'help') {
    const named = first === 'help' ? COMMANDS[argv[1] ?? ''] : undefined;
    process.stdout.write(named === undefined ? USAGE : commandHelp(named));
    return;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${PKG.version}\n`);
    return;
  }
  const command: CommandName | undefined = first === undefined ? 'serve' : COMMANDS[first];
  if (command === undefined) {
    fail(unknownArgument(first!, argv[1]));
    return;
  }
  const rest = argv.slice(1);
  if (rest.some(isHelp)) {
    process.stdout.write(commandHelp(command));
    return;
  }
  if (command === 'mint-ticket' || command === 'usage') {
    const run =
      command === 'usage'
        ? (require('./cli/usage') as typeof import('./cli/usage')).runUsage
        : (require('./cli/mint-ticket') as typeof import('./cli/mint-ticket')).runMintTicket;
    run(rest).then(
      (code) => {
        process.exitCode = code;
      },
      () => {
        process.exitCode = 1;
      },
    );
    return;
  }
  if (command === 'loadtest') {
    const { runLoadTestMain } = require('./cli/loadtest') as typeof import('./cli/loadtest');
    runLoadTestMain(rest).then(
      (code) => {
        process.exitCode = code;
      },
      () => {
        process.exitCode = 1;
      },
    );
    return;
  }
  // The demo's one option; the proxy and the simulator take none.
  const allowed = command === 'demo' ? /^--host(=|$)/ : null;
  for (let i = 0; i < rest.length; i++) {
    if (allowed !== null && allowed.test(rest[i])) {
      if (!rest[i].includes('=')) i++;
      continue;
    }
    fail(unknownArgument(rest[i], rest[i + 1], command));
    return;
  }
  // Each entry reads process.argv after the script (the demo its --host):
  // drop the command word so it sees what `node dist/demo.js` would.
  if (first !== undefined) process.argv.splice(2, 1);
  // Loading an entry starts it and installs its signal handlers.
  if (command === 'serve') require('./index');
  else if (command === 'demo') require('./demo');
  else require('./simulator/cli');
}

main(process.argv.slice(2));
