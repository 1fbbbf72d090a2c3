// deploy/: the Kubernetes and Container Apps manifests parse, probe routes
// that exist (liveness /livez, readiness /readyz), give the drain its time,
// run unprivileged, and wire the workload's own Entra ID identity (keyless);
// every variable they set is one the proxy or @azure/identity reads. The TLS
// variants (the proxy serving wss:// itself) probe over HTTPS, mount their
// certificate whole, differ from the plain manifests in their TLS lines only,
// and their probes get 200 from a proxy reading files laid out as they mount them.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { startHarness } from '../helpers/harness';
import { SecretVolume } from '../helpers/secret-volume';
import { writeTestCert } from '../helpers/test-cert';
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
/** Paths the TLS manifests probe with `scheme: HTTPS`. */
const httpsProbePaths = new Set<string>();

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

// The variant that serves wss:// itself behind a layer-4 balancer: the same
// objects as deploy/kubernetes.yaml but for the TLS lines, so the two cannot
// drift apart; the certificate comes from a secret volume the kubelet updates.
t.test('deploy/kubernetes-tls.yaml', async (t) => {
  const load = (name: string): Obj[] => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy', name), 'utf8'));
    for (const d of docs) t.same(d.errors, [], `${name} parses`);
    return docs.map((d) => d.toJS() as Obj);
  };
  const plain = load('kubernetes.yaml');
  const tls = load('kubernetes-tls.yaml');
  const byKind = (objs: Obj[], k: string): Obj => objs.find((o) => o.kind === k) as Obj;
  t.same(
    tls.map((o) => o.kind),
    plain.map((o) => o.kind),
    'the same objects, in the same order',
  );

  const config = byKind(tls, 'ConfigMap').data as Record<string, string>;
  for (const k of Object.keys(config)) t.ok(KNOWN_VARS.has(k), `ConfigMap ${k} is a variable the proxy reads`);
  t.notOk('TRUST_PROXY' in config, 'no TRUST_PROXY: a layer-4 balancer adds no X-Forwarded-For to trust');

  const spec = byKind(tls, 'Deployment').spec.template.spec as Obj;
  const c = spec.containers[0] as Obj;
  const env: Record<string, string> = {};
  for (const e of c.env as Array<{ name: string; value: string }>) {
    t.ok(KNOWN_VARS.has(e.name), `env ${e.name} is known`);
    env[e.name] = e.value;
  }
  const port = c.ports[0] as Obj;
  t.equal(port.containerPort, Number(env.PORT), 'the container port is PORT');
  for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe] as Obj[]) {
    t.equal(p.httpGet.scheme, 'HTTPS', `${p.httpGet.path}: probed over HTTPS (plain HTTP would fail the handshake)`);
    t.equal(p.httpGet.port, port.name, `${p.httpGet.path}: on the serving port`);
    httpsProbePaths.add(p.httpGet.path as string);
  }

  // Both files in one secret volume mounted whole: the kubelet swaps its
  // ..data link on renewal, and the proxy watches that folder.
  t.ok(env.TLS_CERT_FILE, 'TLS_CERT_FILE set');
  t.ok(env.TLS_KEY_FILE, 'TLS_KEY_FILE set');
  const mount = (c.volumeMounts as Obj[]).find((m) => env.TLS_CERT_FILE.startsWith(`${m.mountPath}/`)) as Obj;
  t.ok(mount, 'TLS_CERT_FILE is inside a mounted volume');
  t.equal(env.TLS_CERT_FILE, `${mount.mountPath}/tls.crt`, 'the certificate of a kubernetes.io/tls secret');
  t.equal(env.TLS_KEY_FILE, `${mount.mountPath}/tls.key`, 'its key, in the same folder');
  t.equal(mount.subPath, undefined, 'no subPath: a subPath mount never receives a renewed certificate');
  t.equal(mount.subPathExpr, undefined, 'nor subPathExpr');
  t.equal(mount.readOnly, true);
  const volume = (spec.volumes as Obj[]).find((v) => v.name === mount.name) as Obj;
  t.ok(volume.secret?.secretName, 'the volume is a secret');
  t.equal(volume.secret.defaultMode, 0o440, 'key readable by owner and group only');
  t.equal(spec.securityContext.fsGroup, spec.securityContext.runAsGroup, "the group is the proxy's");

  const service = byKind(tls, 'Service');
  t.equal(service.spec.type, 'LoadBalancer', 'a layer-4 Azure Load Balancer, no ingress');
  t.equal(service.spec.externalTrafficPolicy, 'Local', "the client's address reaches the pod");
  t.same(service.spec.ports, [{ name: 'https', port: 443, targetPort: port.name }], '443 to the serving port');
  t.same(service.metadata.labels, byKind(plain, 'Service').metadata.labels, 'the ServiceMonitor still selects it');

  const text = readFileSync(join(ROOT, 'deploy', 'kubernetes-tls.yaml'), 'utf8');
  t.match(text, /^ +# +- \{ name: net\.ipv4\.tcp_migrate_req, value: "1" \}$/m, 'tcp_migrate_req, ready to uncomment');
  t.match(text, /allowedUnsafeSysctls/, 'and how the node allows it');

  // Everything else is deploy/kubernetes.yaml: undo the TLS lines and compare.
  const undone = structuredClone(tls);
  const u = (k: string): Obj => byKind(undone, k);
  u('ConfigMap').data.TRUST_PROXY = byKind(plain, 'ConfigMap').data.TRUST_PROXY;
  const us = u('Deployment').spec.template.spec as Obj;
  delete us.securityContext.fsGroup;
  const uc = us.containers[0] as Obj;
  uc.ports[0].name = 'http';
  uc.env = (uc.env as Obj[]).filter((e) => !e.name.startsWith('TLS_'));
  for (const p of [uc.livenessProbe, uc.readinessProbe, uc.startupProbe] as Obj[]) {
    delete p.httpGet.scheme;
    p.httpGet.port = 'http';
  }
  uc.volumeMounts = (uc.volumeMounts as Obj[]).filter((m) => m.name !== mount.name);
  us.volumes = (us.volumes as Obj[]).filter((v) => v.name !== mount.name);
  u('Service').spec = byKind(plain, 'Service').spec;
  t.same(undone, plain, 'nothing else differs from deploy/kubernetes.yaml');
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

// Container Apps with TCP ingress, the one way the proxy's own TLS reaches
// browsers there: the same app as deploy/containerapp.yaml but for the TLS lines.
t.test('deploy/containerapp-tls.yaml', async (t) => {
  const plain = parse(readFileSync(join(ROOT, 'deploy', 'containerapp.yaml'), 'utf8')) as Obj;
  const doc = parse(readFileSync(join(ROOT, 'deploy', 'containerapp-tls.yaml'), 'utf8')) as Obj;
  const ingress = doc.properties.configuration.ingress as Obj;
  t.equal(ingress.transport, 'tcp', 'TCP ingress: the handshake reaches the proxy (HTTP ingress terminates TLS)');
  t.equal(ingress.targetPort, 8080);
  t.ok(ingress.exposedPort >= 1 && ingress.exposedPort <= 65535, 'an exposed port');
  t.notOk([80, 443].includes(ingress.exposedPort), 'not 80 or 443: Container Apps refuses them for TCP');

  const c = doc.properties.template.containers[0] as Obj;
  const env: Record<string, string> = {};
  for (const e of c.env as Array<{ name: string; value?: string }>) {
    t.ok(KNOWN_VARS.has(e.name) || IDENTITY_VARS.has(e.name), `env ${e.name} is known`);
    if (e.value !== undefined) env[e.name] = e.value;
  }
  t.notOk('TRUST_PROXY' in env, 'no TRUST_PROXY: TCP ingress adds no X-Forwarded-For');
  t.equal(env.MAX_CONNECTIONS_PER_IP, '0', 'per-IP cap off: every session comes from the ingress');
  t.ok(Number(env.MAX_SESSIONS_PER_SUBJECT) > 0, 'callers capped by ticket subject instead');

  // One PEM file (key and chain, as Key Vault stores a PEM certificate) from a
  // secret volume, for both variables.
  t.ok(env.TLS_CERT_FILE, 'TLS_CERT_FILE set');
  t.equal(env.TLS_KEY_FILE, env.TLS_CERT_FILE, 'the same PEM file holds the key');
  const mount = (c.volumeMounts as Obj[]).find((m) => env.TLS_CERT_FILE.startsWith(`${m.mountPath}/`)) as Obj;
  t.ok(mount, 'TLS_CERT_FILE is inside a mounted volume');
  t.equal(mount.subPath, undefined, 'the volume mounted whole, no subPath');
  const volume = (doc.properties.template.volumes as Obj[]).find((v) => v.name === mount.volumeName) as Obj;
  t.equal(volume.storageType, 'Secret');
  const item = (volume.secrets as Obj[]).find((s) => env.TLS_CERT_FILE === `${mount.mountPath}/${s.path}`) as Obj;
  t.ok(item, 'the file is one of the volume secrets');
  const secret = (doc.properties.configuration.secrets as Obj[]).find((s) => s.name === item.secretRef) as Obj;
  t.match(secret.keyVaultUrl, /^https:\/\/[^/]+\/secrets\/[^/]+$/, 'from Key Vault, no version: renewals are fetched');
  t.ok(secret.identity, 'read with the app identity');

  for (const p of c.probes as Obj[]) {
    t.equal(p.httpGet.scheme, 'HTTPS', `${p.type}: probed over HTTPS`);
    httpsProbePaths.add(p.httpGet.path as string);
  }
  const rule = doc.properties.template.scale.rules[0] as Obj;
  t.ok(rule.tcp?.metadata?.concurrentConnections, 'a TCP scale rule (an HTTP rule needs HTTP ingress)');

  // Everything else is deploy/containerapp.yaml: undo the TLS lines and compare.
  const u = structuredClone(doc);
  u.properties.configuration.ingress = plain.properties.configuration.ingress;
  u.properties.configuration.secrets = (u.properties.configuration.secrets as Obj[]).filter(
    (s) => s.name !== secret.name,
  );
  const uc = u.properties.template.containers[0] as Obj;
  // TRUST_PROXY stood where the TLS lines now stand.
  const trust = (plain.properties.template.containers[0].env as Obj[]).find((e) => e.name === 'TRUST_PROXY');
  (uc.env as Obj[]).splice(
    (uc.env as Obj[]).findIndex((e) => e.name === 'TLS_CERT_FILE'),
    0,
    trust as Obj,
  );
  const added = [
    'TLS_CERT_FILE',
    'TLS_KEY_FILE',
    'MAX_CONNECTIONS_PER_IP',
    'UPGRADE_RATE_LIMIT_MAX_REQUESTS',
    'RATE_LIMIT_MAX_REQUESTS',
    'MAX_SESSIONS_PER_SUBJECT',
  ];
  uc.env = (uc.env as Obj[]).filter((e) => !added.includes(e.name));
  for (const p of uc.probes as Obj[]) delete p.httpGet.scheme;
  delete uc.volumeMounts;
  delete u.properties.template.volumes;
  u.properties.template.scale.rules = plain.properties.template.scale.rules;
  t.same(u, plain, 'nothing else differs from deploy/containerapp.yaml');
});

t.test('every probed path answers 200 on a serving proxy', async (t) => {
  const h = await startHarness(t);
  t.ok(probePaths.size >= 2);
  for (const p of probePaths) t.equal((await h.http(p)).status, 200, p);
});

/** A GET as the kubelet probes with `scheme: HTTPS`: over TLS, the certificate not verified. */
function probeHttps(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

const certDir = mkdtempSync(join(tmpdir(), 'vlp-manifest-tls-'));
t.teardown(() => rmSync(certDir, { recursive: true, force: true }));
const cert = writeTestCert(certDir);

t.test(
  'every HTTPS probe answers 200 from a proxy reading its files as the TLS manifests lay them out',
  { skip: cert === null ? 'openssl not installed' : false },
  async (t) => {
    t.ok(httpsProbePaths.size >= 2);
    // Kubernetes: tls.crt and tls.key in a secret volume (symlinks through ..data).
    const volume = new SecretVolume(join(certDir, 'volume'), { 'tls.crt': cert!.cert, 'tls.key': cert!.key });
    // Container Apps: one PEM file holding the key and the certificate, as Key Vault stores it.
    const pem = join(certDir, 'tls.pem');
    writeFileSync(pem, Buffer.concat([readFileSync(cert!.key), readFileSync(cert!.cert)]));
    const layouts = {
      'secret volume': { TLS_CERT_FILE: volume.path('tls.crt'), TLS_KEY_FILE: volume.path('tls.key') },
      'one PEM file': { TLS_CERT_FILE: pem, TLS_KEY_FILE: pem },
    };
    for (const [name, env] of Object.entries(layouts)) {
      const h = await startHarness(t, env);
      for (const p of httpsProbePaths) t.equal(await probeHttps(h.proxy.port, p), 200, `${name}: ${p}`);
    }
  },
);
