// Noticing a replaced certificate. Key Vault's VM extension, cert-manager and
// Container Apps replace the files in place, often by renaming a directory (a
// Kubernetes secret volume swaps its `..data` symlink), so a watch on the file
// itself would follow the old inode and miss it: the folders holding the files
// are watched, and the files are also stat()ed every TLS_RELOAD_INTERVAL_MS for
// filesystems that raise no events (network volumes, some container runtimes).
//
// A change is acted on once the files have been quiet for SETTLE_MS, so a pair
// written as two files one after the other is read once, whole. Files whose
// bytes are those already served (a touch, a rewrite of the same pair) change
// nothing. A pair that fails its checks is reported once per state of the
// files, and only when it is still bad SETTLE_MS later: the old pair keeps
// serving, and the next change is tried afresh.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { CertificatePair, TlsFiles } from './certificate-pair';
import { TlsFileError } from './certificate-pair';

/** Quiet time after a change before the files are read. */
export const SETTLE_MS = 500;

export interface ReloadTarget {
  /** The pair being served now. */
  readonly pair: CertificatePair;
  /** Checks and loads the files, and serves them; throws (TlsFileError names the variable). Returns the pair now served. */
  load(): CertificatePair;
  /** A reload was counted: the counters and the expiry gauge are made visible before it is logged. */
  counted(): void;
}

export interface ReloadCounters {
  tlsReloadsOk: number;
  tlsReloadsFailed: number;
}

export class CertificateReloader {
  private readonly watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | null = null;
  private settle: NodeJS.Timeout | null = null;
  /** The files' stat state last acted on: an unchanged state is not read again. */
  private seen: string;
  /** The state whose failure was last reported. */
  private reported = '';
  /** A failed state waiting one settle period before it is reported. */
  private doubted = '';

  constructor(
    private readonly files: TlsFiles,
    private readonly intervalMs: number,
    private readonly target: ReloadTarget,
    private readonly counters: ReloadCounters,
    private readonly log: Logger,
  ) {
    this.seen = fileState(files);
  }

  start(): void {
    const dirs = new Set([dirname(this.files.certFile), dirname(this.files.keyFile)]);
    if (this.files.passphraseFile !== '') dirs.add(dirname(this.files.passphraseFile));
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.changed());
        // A folder that goes away (its volume unmounted) ends its watch; polling goes on.
        w.on('error', () => w.close());
        this.watchers.push(w);
      } catch (err) {
        this.log.warn({ dir, err: (err as Error).message }, 'cannot watch the TLS files; polling them only');
      }
    }
    this.poll = setInterval(() => this.check(), this.intervalMs);
    this.poll.unref();
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    if (this.poll !== null) clearInterval(this.poll);
    if (this.settle !== null) clearTimeout(this.settle);
    this.poll = this.settle = null;
  }

  /** A watch event: wait until the files have been quiet for SETTLE_MS. */
  private changed(): void {
    if (this.poll === null) return;
    if (this.settle !== null) clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      this.settle = null;
      this.check();
    }, SETTLE_MS);
    this.settle.unref();
  }

  /** Reads the files when their state changed (or a failure awaits its second look). */
  check(): void {
    const state = fileState(this.files);
    if (state === this.seen && state !== this.doubted) return;
    this.seen = state;
    const before = this.target.pair;
    let pair: CertificatePair;
    try {
      pair = this.target.load();
    } catch (err) {
      this.failed(state, err as Error);
      return;
    }
    this.doubted = '';
    if (pair === before) return;
    this.counters.tlsReloadsOk++;
    this.target.counted();
    this.log.info(
      {
        subject: pair.subject,
        issuer: pair.issuer,
        fingerprint256: pair.fingerprint256,
        notAfter: new Date(pair.notAfterS * 1000).toISOString(),
        previousFingerprint256: before.fingerprint256,
      },
      'TLS certificate reloaded: new connections get it, live sessions keep theirs',
    );
  }

  private failed(state: string, err: Error): void {
    if (state === this.reported) return;
    if (state !== this.doubted) {
      // Maybe half written: look again once the files have been quiet for a while.
      this.doubted = state;
      this.changed();
      return;
    }
    this.doubted = '';
    this.reported = state;
    this.counters.tlsReloadsFailed++;
    this.target.counted();
    this.log.error(
      {
        variable: err instanceof TlsFileError ? err.variable : undefined,
        err: err.message,
        fingerprint256: this.target.pair.fingerprint256,
      },
      'TLS certificate reload failed: still serving the previous certificate',
    );
  }
}

/** Inode, size and modification time of each file (stat follows the symlinks a secret volume swaps). */
function fileState(files: TlsFiles): string {
  let out = '';
  for (const path of [files.certFile, files.keyFile, files.passphraseFile]) {
    if (path === '') continue;
    try {
      const s = statSync(path);
      out += `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs};`;
    } catch (err) {
      out += `${(err as NodeJS.ErrnoException).code ?? 'error'};`;
    }
  }
  return out;
}
