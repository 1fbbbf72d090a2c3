// Which Node versions load the native module (uWebSockets.js, the npm alias
// of @based/uws 6.0.1), and what a failed load is told. Its binaries are
// uws_<platform>_<arch>_<ABI>.node, one per Node major:
//
//   ABI 108, 115, 127, 131 (Node 18, 20, 22, 23): the uWS.js v20.51.0 tree;
//     on Linux they need glibc 2.27 (x64, arm64) or 2.28 (arm).
//   ABI 137, 141 (Node 24, 25): a later build, not from that tree; on Linux
//     they need glibc 2.38 (C23's __isoc23_strtol and friends), so they do
//     not load on Debian 12 (glibc 2.36), the image's base; no 32-bit arm.
//
// package.json `engines` admits Node 20.19+, 22.12+ and 23 (also what
// require(esm) needs); the image runs Node 22 on Debian 12. The loader's own
// error names neither glibc nor a version to use: explainUwsLoadFailure does.

/** Node's module ABI -> its major version, for the binaries the package ships. */
export const UWS_ABI_MAJOR: Readonly<Record<string, number>> = {
  '108': 18,
  '115': 20,
  '127': 22,
  '131': 23,
  '137': 24,
  '141': 25,
};

/** What the supported range is, in the words the messages use. */
export const SUPPORTED_NODE = 'Node 22.12+ (the image: node:22-bookworm-slim), 20.19+ or 23';

export interface NodeRuntime {
  readonly node: string;
  readonly abi: string;
  readonly platform: string;
  readonly arch: string;
  /** The C library's version on Linux with glibc; undefined on musl (Alpine) and elsewhere. */
  readonly glibc: string | undefined;
}

export function currentRuntime(): NodeRuntime {
  const header =
    process.platform === 'linux'
      ? (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header
      : undefined;
  return {
    node: process.versions.node,
    abi: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
    glibc: header?.glibcVersionRuntime,
  };
}

/** One sentence for the operator: why uWebSockets.js did not load, and what to run instead. */
export function explainUwsLoadFailure(err: unknown, rt: NodeRuntime = currentRuntime()): string {
  const detail = err instanceof Error ? err.message : String(err);
  const binary = `uws_${rt.platform}_${rt.arch}_${rt.abi}.node`;
  const glibcNeeded = /version `GLIBC_(\d+\.\d+)' not found/.exec(detail)?.[1];
  if (glibcNeeded !== undefined) {
    return (
      `the native module uWebSockets.js cannot load on Node ${rt.node}: its binary ${binary} needs glibc ${glibcNeeded}, ` +
      `this system has glibc ${rt.glibc ?? 'older'}. Use ${SUPPORTED_NODE}, whose binaries need glibc 2.27, ` +
      `or a system with glibc ${glibcNeeded}+`
    );
  }
  if (rt.platform === 'linux' && rt.glibc === undefined) {
    return (
      `the native module uWebSockets.js cannot load: its Linux binaries need glibc, and this system has none ` +
      `(musl, as on Alpine). Use a Debian-based image such as node:22-bookworm-slim`
    );
  }
  if (/Cannot find module|MODULE_NOT_FOUND/.test(detail)) {
    const major = UWS_ABI_MAJOR[rt.abi];
    return (
      `the native module uWebSockets.js has no binary for Node ${rt.node} on ${rt.platform}-${rt.arch} ` +
      `(${binary}${major === undefined ? '' : ' was removed from this install'}). Use ${SUPPORTED_NODE}`
    );
  }
  return `the native module uWebSockets.js failed to load on Node ${rt.node} (${rt.platform}-${rt.arch}): ${detail.split('\n\n').pop()}`;
}
