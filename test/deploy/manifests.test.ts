// deploy/: the Kubernetes and Container Apps manifests parse, probe routes
// that exist (liveness /livez, readiness /readyz), give the drain its time,
// run unprivileged, and wire the workload's own Entra ID identity (keyless);
// every variable they set is one the proxy or @azure/identity reads.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { startHarness } from '../helpers/harness';
import { warnUnboundedSocketBuffers } from '../../src/kernel-socket-buffers';

const ROOT = join(__dirname, '..', '..');
const SHUTDOWN_GRACE_DEFAULT_S = 10;
/** Close handshakes (2 s) and the last log lines (1 s) after the grace period. */
const AFTER_GRACE_S = 3;

/** Every variable the proxy reads is listed in .env.example. */
const KNOWN_VARS = new Set(
  readFileSync(join(ROOT, '.env.example'), 'utf8')
    .split('\n')
    .map((l) => /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(l)?.[1])
    .filter((v): v is string => v !== undefined),
);

/** Read by @azure/identity (DefaultAzureCredential), not by the proxy: which identity to use. */
const IDENTITY_VARS = new Set(['AZURE_CLIENT_ID']);

type Obj = Record<string, any>;

function graceSeconds(env: Record<string, string>): number {
  return env.SHUTDOWN_GRACE_MS === undefined ? SHUTDOWN_GRACE_DEFAULT_S : Number(env.SHUTDOWN_GRACE_MS) / 1000;
}

const probePaths = new Set<string>();

t.test('deploy/kubernetes.yaml', async (t) => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'kubernetes.yaml'), 'utf8'));
  for (const d of docs) t.same(d.errors, [], 'parses');
  const objs = docs.map((d) => d.toJS() as Obj);
  const byKind = (k: string): Obj => objs.find((o) => o.kind === k) as Obj;
  t.same(objs.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);

  const config = byKind('ConfigMap').data as Record<string, string>;
  for (const k of Object.keys(config)) t.ok(KNOWN_VARS.has(k), `ConfigMap ${k} is a variable the proxy reads`);
  t.equal(config.AZURE_AI_FOUNDRY_RESOURCE, '', 'no placeholder resource: the proxy refuses to start until it is set');
  t.equal(config.ALLOWED_ORIGINS, '', 'no placeholder origin either: the operator names the front end');
  t.equal(config.CLIENT_AUTH, 'ticket', 'callers need a ticket: reaching the port is not enough');
  t.notOk('TICKET_SECRET' in config, 'the ticket secret is not in the ConfigMap');

  const spec = byKind('Deployment').spec.template.spec as Obj;
  const c = spec.containers[0] as Obj;
  for (const e of c.env as Array<{ name: string }>) t.ok(KNOWN_VARS.has(e.name), `env ${e.name} is known`);
  t.equal(c.ports[0].containerPort, 8080);
  t.equal(c.livenessProbe.httpGet.path, '/livez', 'liveness on /livez');
  t.equal(c.readinessProbe.httpGet.path, '/readyz', 'readiness on /readyz');
  t.equal(c.readinessProbe.failureThreshold, 1, 'out of rotation at the first 503');
  t.ok(
    c.livenessProbe.periodSeconds * c.livenessProbe.failureThreshold >= 30,
    'liveness is patient: a busy thread is not restarted for one slow answer',
  );
  for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) probePaths.add(p.httpGet.path);

  const preStop = c.lifecycle?.preStop?.exec?.command as string[] | undefined;
  const preStopS = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
  t.ok(
    spec.terminationGracePeriodSeconds > preStopS + graceSeconds(config) + AFTER_GRACE_S,
    `terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} > preStop ${preStopS} + grace + ${AFTER_GRACE_S}`,
  );

  // Keyless: AKS workload identity. The webhook acts on pods labelled `use`
  // whose ServiceAccount names the identity's client id.
  const account = byKind('ServiceAccount').metadata as Obj;
  t.equal(spec.serviceAccountName, account.name, 'the pod runs as the annotated ServiceAccount');
  t.ok(account.annotations['azure.workload.identity/client-id'], 'the ServiceAccount names the identity');
  t.equal(
    byKind('Deployment').spec.template.metadata.labels['azure.workload.identity/use'],
    'true',
    'the pod asks the workload identity webhook for its token (a string, as the webhook matches it)',
  );

  t.equal(spec.securityContext.runAsNonRoot, true);
  t.equal(spec.securityContext.runAsUser, 1000, "the image's node user");
  t.equal(c.securityContext.allowPrivilegeEscalation, false);
  t.equal(c.securityContext.readOnlyRootFilesystem, true);
  t.same(c.securityContext.capabilities.drop, ['ALL']);

  // The pod sysctls ship commented out (the kubelet must allow them first);
  // uncommented, they are valid and what the start-up check counts as bounded.
  const text = readFileSync(join(ROOT, 'deploy', 'kubernetes.yaml'), 'utf8');
  const block = /^( +)# sysctls:\n((?:\1# {3}- .*\n)+)/m.exec(text);
  t.ok(block, 'the sysctls block is there, commented out');
  const indent = block![1];
  const uncommented = block![0].replace(new RegExp(`^${indent}# `, 'gm'), `${indent}`);
  const sysctls = (parse(uncommented) as { sysctls: Array<{ name: string; value: string }> }).sysctls;
  const value = (name: string): string => sysctls.find((x) => x.name === name)?.value ?? '';
  t.same(
    sysctls.map((x) => x.name),
    ['net.ipv4.tcp_notsent_lowat', 'net.ipv4.tcp_rmem'],
  );
  t.notOk(
    warnUnboundedSocketBuffers({ warn: () => undefined }, 3 * 1024 ** 3, {
      notsentLowatBytes: Number(value('net.ipv4.tcp_notsent_lowat')),
      wmemMaxBytes: 4194304,
      rmemMaxBytes: Number(value('net.ipv4.tcp_rmem').split(/\s+/)[2]),
    }),
    'uncommented, the start-up check counts socket buffers as bounded',
  );
  t.match(
    text,
    /allowedUnsafeSysctls.*net\.ipv4\.tcp_notsent_lowat.*net\.ipv4\.tcp_rmem/,
    'and says how to allow them',
  );
  t.ok(c.resources.limits.memory, 'a memory limit');
  t.equal(byKind('Service').spec.ports[0].targetPort, 'http');
  t.notOk(
    JSON.stringify(byKind('Deployment').spec.template.metadata).includes('prometheus.io/scrape'),
    'no token-less scrape annotation: it would only ever get 403 metrics_disabled',
  );

  const monitor = parse(readFileSync(join(ROOT, 'deploy', 'kubernetes-servicemonitor.yaml'), 'utf8')) as Obj;
  t.equal(monitor.kind, 'ServiceMonitor');
  t.same(monitor.spec.selector.matchLabels, byKind('Service').metadata.labels, 'selects the Service');
  const ep = monitor.spec.endpoints[0] as Obj;
  t.equal(ep.port, byKind('Service').spec.ports[0].name, "scrapes the Service's named port");
  t.equal(ep.path, '/metrics');
  t.same(
    ep.authorization,
    { type: 'Bearer', credentials: { name: 'voice-live-proxy', key: 'METRICS_TOKEN' } },
    "sends METRICS_TOKEN from the Deployment's secret",
  );
  const secretRef = (c.envFrom as Obj[]).find((e) => e.secretRef !== undefined)?.secretRef as Obj;
  t.equal(secretRef.name, ep.authorization.credentials.name, 'the same secret the proxy reads');
  t.not(secretRef.optional, true, 'the secret (TICKET_SECRET) is required');
});

t.test('deploy/containerapp.yaml', async (t) => {
  const doc = parse(readFileSync(join(ROOT, 'deploy', 'containerapp.yaml'), 'utf8')) as Obj;
  t.equal(doc.type, 'Microsoft.App/containerApps');
  const ingress = doc.properties.configuration.ingress as Obj;
  t.equal(ingress.targetPort, 8080);
  const tpl = doc.properties.template as Obj;
  const c = tpl.containers[0] as Obj;
  const env: Record<string, string> = {};
  for (const e of c.env as Array<{ name: string; value?: string }>) {
    t.ok(KNOWN_VARS.has(e.name) || IDENTITY_VARS.has(e.name), `env ${e.name} is known`);
    if (e.value !== undefined) env[e.name] = e.value;
  }
  t.equal(env.TRUST_PROXY, '1', 'the ingress is one hop');

  // Keyless: a user-assigned identity, and AZURE_CLIENT_ID so DefaultAzureCredential picks it.
  const identity = doc.identity as Obj;
  t.equal(identity.type, 'UserAssigned');
  t.equal(Object.keys(identity.userAssignedIdentities).length, 1, 'one identity');
  t.ok(env.AZURE_CLIENT_ID, 'AZURE_CLIENT_ID names its client id');
  t.notOk(
    (c.env as Array<{ name: string }>).some((e) => e.name === 'AZURE_SPEECH_KEY'),
    'no key: the identity authorizes the upstream',
  );
  const secrets = (doc.properties.configuration.secrets ?? []) as Obj[];
  t.equal(env.CLIENT_AUTH, 'ticket', 'callers need a ticket: reaching the ingress is not enough');
  t.ok(
    (c.env as Array<{ name: string; secretRef?: string }>).some(
      (e) => e.name === 'TICKET_SECRET' && e.secretRef !== undefined,
    ),
    'TICKET_SECRET from a secret',
  );
  for (const e of c.env as Array<{ name: string; secretRef?: string }>) {
    if (e.secretRef !== undefined)
      t.ok(
        secrets.some((x) => x.name === e.secretRef),
        `${e.name}: its secret exists`,
      );
  }
  const probe = (type: string): Obj => (c.probes as Obj[]).find((p) => p.type === type) as Obj;
  t.equal(probe('Liveness').httpGet.path, '/livez');
  t.equal(probe('Readiness').httpGet.path, '/readyz');
  t.equal(probe('Readiness').failureThreshold, 1);
  for (const p of c.probes as Obj[]) {
    t.ok(
      p.failureThreshold >= 1 && p.failureThreshold <= 10,
      `${p.type}: failureThreshold within Container Apps' 1-10`,
    );
    probePaths.add(p.httpGet.path);
  }
  t.ok(tpl.terminationGracePeriodSeconds > graceSeconds(env) + AFTER_GRACE_S, 'grace period covers the drain');
});

t.test('every probed path answers 200 on a serving proxy', async (t) => {
  const h = await startHarness(t);
  t.ok(probePaths.size >= 2);
  for (const p of probePaths) t.equal((await h.http(p)).status, 200, p);
});
