// A folder laid out as Kubernetes mounts a secret (and as a cert-manager renewal
// updates it): each file a symlink through `..data`
// to a versioned folder, replaced all at once by renaming a new `..data` over
// the old one.
import { copyFileSync, mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export class SecretVolume {
  private version = 0;

  /** `files`: name in the volume -> source path to copy. */
  constructor(
    readonly dir: string,
    files: Record<string, string>,
  ) {
    mkdirSync(dir, { recursive: true });
    const names = Object.keys(files);
    this.write(files);
    for (const name of names) symlinkSync(join('..data', name), join(dir, name));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Swaps every file at once: a new versioned folder, then `..data` renamed onto it. */
  replace(files: Record<string, string>): void {
    this.write(files);
  }

  private write(files: Record<string, string>): void {
    const version = `..v${++this.version}`;
    mkdirSync(join(this.dir, version));
    for (const [name, source] of Object.entries(files)) copyFileSync(source, join(this.dir, version, name));
    const tmp = join(this.dir, '..data_tmp');
    symlinkSync(version, tmp);
    renameSync(tmp, join(this.dir, '..data'));
  }
}
