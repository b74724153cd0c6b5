/**
 * Node.js flags the worker process runs with (here for scripts/start.ts and the benchmarks; the
 * same flags are written out in package.json's "worker" script and the Dockerfile's worker CMD).
 *
 * `--max-semi-space-size=16`: V8's young generation stays at most 3 × 16 MB, as it was before
 * Node.js 22 let it grow to 3 × 64 MB. A worker with hundreds of checks at once allocates fast,
 * and the bigger young generation alone added ~100 MB of RSS (bench/tarpit-concurrency.ts).
 */
export const WORKER_NODE_FLAGS = ["--max-semi-space-size=16"];
