// What the docs name exists: every `npm run` script, every repository path
// quoted as code, every environment variable (the proxy's own, or one of a
// short list that Node, Azure or the tools read).
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, codeSpans, configNames, pages } from '../helpers/doc-pages';

const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts;

/** Variables read by something other than the proxy, which the docs tell operators to set. */
const OTHER_VARIABLES = new Set([
  'NODE_OPTIONS', // node: --max-semi-space-size for WORKERS=1
  'NODE_ENV',
  'NODE_EXTRA_CA_CERTS', // node: extra CAs for the upstream (the TLS bench)
  'AZURE_CLIENT_ID', // @azure/identity: which identity
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_FEDERATED_TOKEN_FILE', // injected by AKS workload identity
  'IDENTITY_ENDPOINT', // set by App Service and Container Apps
  'IDENTITY_HEADER',
  'WEBSITES_PORT', // App Service
  'WEBSITES_CONTAINER_STOP_TIME_LIMIT',
  'DEMO_SCREENSHOT', // test/demo/browser.test.ts
  'LOADTEST_BEARER_TOKEN', // the loadtest command's user token (src/cli/loadtest.ts), not the proxy's
  'LD_PRELOAD', // the allocator runs in docs/performance.md
  'FRONT_DOOR_ID', // shell variables in the Azure CLI examples
  'CLIENT_ID',
  'PRINCIPAL_ID',
]);

/** UPPER_SNAKE names in the docs that are not variables: socket options and C++ identifiers. */
const NOT_VARIABLES = new Set(['SO_REUSEPORT', 'SSL_CTX', 'CORK_BUFFER_SIZE']);

t.test('every `npm run X` in the docs is a script in package.json', async (t) => {
  let n = 0;
  for (const p of pages()) {
    for (const m of p.text.matchAll(/npm run ([a-z][\w:-]*)/g)) {
      n++;
      t.ok(m[1] in scripts, `${p.path}: npm run ${m[1]}`);
    }
  }
  t.ok(n >= 10, `${n} npm run commands read`);
});

t.test('every repository path quoted as code exists', async (t) => {
  let n = 0;
  for (const p of pages()) {
    for (const span of codeSpans(p.text)) {
      if (!/^(?:src|test|bench|deploy|docs)\/[^\s*<>{}]+$/.test(span)) continue;
      n++;
      t.ok(existsSync(join(ROOT, span.replace(/[.,:;]$/, ''))), `${p.path}: ${span}`);
    }
  }
  t.ok(n >= 30, `${n} paths read`);
});

t.test(
  'every environment variable named is one the proxy reads, or a known one of Node, Azure or the tools',
  async (t) => {
    const known = configNames();
    t.ok(known.has('ALLOWED_ORIGINS') && known.has('BUFFER_BUDGET_BYTES'), 'the configuration names were read');
    const unknown = new Set<string>();
    let n = 0;
    for (const p of pages()) {
      for (const m of p.text.matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g)) {
        n++;
        if (!known.has(m[0]) && !OTHER_VARIABLES.has(m[0]) && !NOT_VARIABLES.has(m[0]))
          unknown.add(`${p.path}: ${m[0]}`);
      }
    }
    t.ok(n > 200, `${n} names read`);
    t.same([...unknown], [], 'no name the proxy does not read');
  },
);
