#!/usr/bin/env node
// Launcher: enable relaxed SIMD (FMA) before any wasm is compiled. Node 20 keeps it behind a flag;
// the engine feature-detects it and falls back to plain SIMD when the flag has no effect.
import { setFlagsFromString } from 'node:v8';

if (!process.execArgv.includes('--no-relaxed-simd') && process.env.THRIFTY_RELAXED_SIMD !== '0') {
  setFlagsFromString('--experimental-wasm-relaxed-simd');
}
const { main } = await import('../dist/src/cli/main.js');
await main(process.argv);
