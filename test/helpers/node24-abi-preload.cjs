// Test-only preload: this node asks for the Node 24 binary of uWebSockets.js
// (ABI 137), which needs glibc 2.38, to show what a Node 24 start on an older
// glibc is told. Only the loader reads process.versions.modules.
Object.defineProperty(process.versions, 'modules', { value: '137' });
