import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import ts from 'typescript';
import { Worker } from 'node:worker_threads';
import { ConnectionCounter } from '../../src/admission/connection-counter';
import { KeyedTable, WAYS } from '../../src/admission/keyed-table';

t.test('global cap', async (t) => {
  const c = new ConnectionCounter({ max: 2, maxPerIp: 0 });
  t.equal(c.tryAcquire('a'), 'ok');
  t.equal(c.tryAcquire('b'), 'ok');
  t.equal(c.tryAcquire('c'), 'global');
  t.equal(c.active, 2);
  c.release('a');
  t.equal(c.active, 1);
  t.equal(c.tryAcquire('c'), 'ok');
  c.release('b');
  c.release('c');
  t.equal(c.active, 0);
  c.release('c');
  t.equal(c.active, 0, 'an extra release never goes below zero');
  t.equal(c.activeFor('a'), 0, 'no per-IP tracking without a per-IP cap');
});

t.test('per-IP cap, exact map with one thread', async (t) => {
  const c = new ConnectionCounter({ max: 10, maxPerIp: 2 });
  t.equal(c.tryAcquire('1.1.1.1'), 'ok');
  t.equal(c.tryAcquire('1.1.1.1'), 'ok');
  t.equal(c.tryAcquire('1.1.1.1'), 'ip');
  t.equal(c.tryAcquire('2.2.2.2'), 'ok');
  t.equal(c.active, 3, 'a refusal takes no global slot');
  t.equal(c.activeFor('1.1.1.1'), 2);
  c.release('1.1.1.1');
  t.equal(c.activeFor('1.1.1.1'), 1);
  t.equal(c.tryAcquire('1.1.1.1'), 'ok');
  c.release('1.1.1.1');
  c.release('1.1.1.1');
  t.equal(c.activeFor('1.1.1.1'), 0);
  c.release('1.1.1.1');
  c.release('9.9.9.9');
  t.equal(c.activeFor('1.1.1.1'), 0, 'never negative');
  t.equal(c.active, 0);
  c.release('2.2.2.2');
  t.equal(c.active, 0);
});

t.test('global is reported before per-IP', async (t) => {
  const c = new ConnectionCounter({ max: 1, maxPerIp: 1 });
  t.equal(c.tryAcquire('a'), 'ok');
  t.equal(c.tryAcquire('a'), 'global');
  t.equal(c.tryAcquire('b'), 'global');
  const s = new ConnectionCounter({ max: 1, maxPerIp: 1, shared: ConnectionCounter.createShared() });
  t.equal(s.tryAcquire('a'), 'ok');
  t.equal(s.tryAcquire('a'), 'global');
  t.equal(s.tryAcquire('b'), 'global');
});

t.test('shared buffer: per-IP counts are shared by every counter on it', async (t) => {
  const sab = ConnectionCounter.createShared(1000);
  const w1 = new ConnectionCounter({ max: 100, maxPerIp: 2, shared: sab });
  const w2 = new ConnectionCounter({ max: 100, maxPerIp: 2, shared: sab });
  t.equal(w1.tryAcquire('1.1.1.1'), 'ok');
  t.equal(w2.tryAcquire('1.1.1.1'), 'ok');
  t.equal(w1.tryAcquire('1.1.1.1'), 'ip', 'cap holds across workers');
  t.equal(w2.tryAcquire('1.1.1.1'), 'ip');
  t.equal(w1.active, 2);
  t.equal(w2.activeFor('1.1.1.1'), 2);
  w2.release('1.1.1.1');
  t.equal(w1.tryAcquire('1.1.1.1'), 'ok');
  w1.release('1.1.1.1');
  w1.release('1.1.1.1');
  w1.release('1.1.1.1');
  t.equal(w1.activeFor('1.1.1.1'), 0, 'never negative');
  t.equal(w1.active, 0);

  // Global full while the per-IP slot is free: the per-IP slot is given back.
  const shared = ConnectionCounter.createShared();
  const g = new ConnectionCounter({ max: 1, maxPerIp: 5, shared });
  const other = new ConnectionCounter({ max: 1, maxPerIp: 5, shared });
  t.equal(g.tryAcquire('a'), 'ok');
  t.equal(g.tryAcquire('b'), 'global');
  t.equal(other.activeFor('b'), 0, 'no per-IP slot leaked by a global refusal');
});

t.test('the global race: load says free, compare-exchange says full', async (t) => {
  const sab = ConnectionCounter.createShared();
  const a = new ConnectionCounter({ max: 1, maxPerIp: 3, shared: sab });
  const cells = new KeyedTable(sab).spare; // [0] is the global count
  // Simulate another worker taking the last slot between the first read and the exchange.
  const load = Atomics.load;
  let calls = 0;
  t.teardown(() => {
    Atomics.load = load;
  });
  Atomics.load = ((arr: Int32Array, i: number) => {
    const v = load(arr, i);
    if (i === 0 && ++calls === 1) {
      Atomics.store(cells, 0, 1);
      return 0;
    }
    return v;
  }) as typeof Atomics.load;
  t.equal(a.tryAcquire('x'), 'global');
  Atomics.load = load;
  t.equal(a.activeFor('x'), 0, 'per-IP slot given back');
  Atomics.store(cells, 0, 0);
  calls = 0;
  const b = new ConnectionCounter({ max: 1, maxPerIp: 3 });
  Atomics.load = ((arr: Int32Array, i: number) => {
    const v = load(arr, i);
    if (i === 0 && arr.length === 4 && ++calls === 1) {
      Atomics.store(arr, 0, 1);
      return 0;
    }
    return v;
  }) as typeof Atomics.load;
  t.equal(b.tryAcquire('x'), 'global', 'same with the local map');
  Atomics.load = load;
  t.equal(b.activeFor('x'), 0);
  calls = 0;
  const n = new ConnectionCounter({ max: 1, maxPerIp: 0 });
  Atomics.load = ((arr: Int32Array, i: number) => {
    const v = load(arr, i);
    if (i === 0 && arr.length === 4 && ++calls === 1) {
      Atomics.store(arr, 0, 1);
      return 0;
    }
    return v;
  }) as typeof Atomics.load;
  t.equal(n.tryAcquire('x'), 'global', 'same without a per-IP cap');
  Atomics.load = load;
});

t.test('slot count follows MAX_CONNECTIONS', async (t) => {
  const slots = (sab: SharedArrayBuffer): number => new KeyedTable(sab).sets * WAYS;
  t.equal(slots(ConnectionCounter.createShared()), 1024, 'at least 1024');
  t.equal(slots(ConnectionCounter.createShared(10_000)), 1 << 19, '32 per connection (4 keys x 8), rounded up');
  t.equal(slots(ConnectionCounter.createShared(1_000_000)), 1 << 22, 'capped at 4M slots (128 MiB)');
});

t.test('keys in one set never share a count, even chosen with the hash key', async (t) => {
  const sab = ConnectionCounter.createShared(10);
  const table = new KeyedTable(sab);
  const c = new ConnectionCounter({ max: 1000, maxPerIp: 2, shared: sab });
  const target = table.setOf('198.51.100.7');
  const crowd: string[] = [];
  for (let i = 0; crowd.length < WAYS - 1; i++)
    if (table.setOf(`attacker-${i}`) === target) crowd.push(`attacker-${i}`);
  for (const k of crowd) {
    t.equal(c.tryAcquire(k), 'ok');
    t.equal(c.tryAcquire(k), 'ok');
    t.equal(c.tryAcquire(k), 'ip');
  }
  t.equal(c.tryAcquire('198.51.100.7'), 'ok', 'the victim has its own count');
  t.equal(c.tryAcquire('198.51.100.7'), 'ok');
  t.equal(c.activeFor('198.51.100.7'), 2);
  t.equal(c.tryAcquire('198.51.100.7'), 'ip');
  // A set with every way held by a live key has no room: capacity, never a shared count.
  const extra: string[] = [];
  for (let i = 0; extra.length < 1; i++) if (table.setOf(`more-${i}`) === target) extra.push(`more-${i}`);
  t.equal(c.tryAcquire(extra[0]), 'global', 'a full set refuses as capacity');
  c.release('198.51.100.7');
  c.release('198.51.100.7');
  t.equal(c.activeFor('198.51.100.7'), 0);
  t.equal(c.tryAcquire(extra[0]), 'ok', 'a count back at zero frees its slot');
  for (const k of crowd) t.equal(c.activeFor(k), 2, `${k} untouched`);
});

t.test('acquireKey / releaseKey: wider keys with their own limit', async (t) => {
  for (const shared of [undefined, ConnectionCounter.createShared(10)]) {
    const c = new ConnectionCounter({ max: 100, maxPerIp: 1, shared });
    t.equal(c.acquireKey('2001:db8::/48', 2), 'ok');
    t.equal(c.acquireKey('2001:db8::/48', 2), 'ok');
    t.equal(c.acquireKey('2001:db8::/48', 2), 'ip');
    c.releaseKey('2001:db8::/48');
    t.equal(c.activeFor('2001:db8::/48'), 1);
    c.releaseKey('2001:db8::/48');
    c.releaseKey('2001:db8::/48');
    t.equal(c.activeFor('2001:db8::/48'), 0, 'never negative');
  }
  const off = new ConnectionCounter({ max: 1, maxPerIp: 0 });
  t.equal(off.acquireKey('k', 1), 'ok', 'no per-IP cap: nothing tracked');
  off.releaseKey('k');
  t.equal(off.activeFor('k'), 0);
});

t.test('invalid options', async (t) => {
  t.throws(() => new ConnectionCounter({ max: 0, maxPerIp: 0 }), RangeError);
  t.throws(() => new ConnectionCounter({ max: 1, maxPerIp: -1 }), RangeError);
  t.throws(() => new ConnectionCounter({ max: 1, maxPerIp: 0, shared: new SharedArrayBuffer(4) }), RangeError);
  t.throws(() => new ConnectionCounter({ max: 1, maxPerIp: 0, shared: new SharedArrayBuffer(64) }), RangeError);
  const bad = ConnectionCounter.createShared(1);
  new Int32Array(bad, 32, 1)[0] = 65;
  t.throws(
    () => new ConnectionCounter({ max: 1, maxPerIp: 0, shared: bad }),
    RangeError,
    'set count not a power of two',
  );
});

// Four threads hammer one buffer. Each records the highest global count it saw
// right after a successful acquire; none may exceed max, and all end at zero.
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
function load(source) {
  const mod = { exports: {} };
  const req = (name) => (workerData.deps[name] !== undefined ? load(workerData.deps[name]) : require(name));
  new Function('exports', 'require', 'module', source)(mod.exports, req, mod);
  return mod.exports;
}
const mod = { exports: load(workerData.source) };
const { ConnectionCounter } = mod.exports;
{
const c = new ConnectionCounter({ max: workerData.max, maxPerIp: workerData.maxPerIp, shared: workerData.sab });
const held = [];
let peak = 0, ok = 0, global = 0, ip = 0;
const gate = new Int32Array(workerData.gate);
Atomics.add(gate, 0, 1);
while (Atomics.load(gate, 0) < workerData.workers) Atomics.wait(gate, 0, Atomics.load(gate, 0), 5);
for (let i = 0; i < workerData.iterations; i++) {
  const key = 'ip' + ((i * 7 + workerData.id) % 5);
  const r = c.tryAcquire(key);
  if (r === 'ok') {
    ok++;
    const now = c.active;
    if (now > peak) peak = now;
    held.push(key);
  } else if (r === 'global') global++; else ip++;
  if (held.length > 0 && (i & 3) === 0) c.release(held.shift());
  if (held.length > 8) c.release(held.shift());
}
while (held.length > 0) c.release(held.shift());
parentPort.postMessage({ peak, ok, global, ip });
}
`;

interface WorkerResult {
  peak: number;
  ok: number;
  global: number;
  ip: number;
}

t.test('4 worker threads on one SharedArrayBuffer', async (t) => {
  const max = 10;
  const maxPerIp = 3;
  const sab = ConnectionCounter.createShared(max);
  // Workers do not inherit tap's TypeScript loader: hand them the module transpiled.
  const transpile = (name: string): string =>
    ts.transpileModule(readFileSync(resolve(__dirname, `../../src/admission/${name}.ts`), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
  const source = transpile('connection-counter');
  const deps = { './keyed-table': transpile('keyed-table'), './seeded-hash': transpile('seeded-hash') };
  const gate = new SharedArrayBuffer(4); // start line, so the four really run at once
  const workers = 4;
  const results = await Promise.all(
    [0, 1, 2, 3].map(
      (id) =>
        new Promise<WorkerResult>((done, fail) => {
          const w = new Worker(WORKER, {
            eval: true,
            workerData: { sab, gate, workers, source, deps, id, max, maxPerIp, iterations: 200_000 },
          });
          w.once('message', done);
          w.once('error', fail);
        }),
    ),
  );
  const main = new ConnectionCounter({ max, maxPerIp, shared: sab });
  for (const [i, r] of results.entries()) {
    t.ok(r.peak <= max, `worker ${i}: peak ${r.peak} <= ${max} (${r.ok} ok, ${r.global} global, ${r.ip} ip)`);
  }
  t.ok(
    results.some((r) => r.global > 0),
    'the global cap was contended',
  );
  t.ok(
    results.some((r) => r.ip > 0),
    'the per-IP cap was contended',
  );
  t.equal(main.active, 0, 'global count back to zero');
  for (let k = 0; k < 5; k++) t.equal(main.activeFor(`ip${k}`), 0, `per-IP count ip${k} back to zero`);
});
