// Worker thread of the Node wasm pool (see src/node/wasm-pool.ts). It blocks in serveTasks and
// never returns to its event loop while the pool lives, so new arenas arrive on a MessagePort
// that it drains synchronously with receiveMessageOnPort when a task names an unknown arena.

import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { TaskTable } from '../backend/wasm/abi.js';
import { applyArenaMessage, serveTasks } from '../backend/wasm/pool.js';

export interface WasmWorkerData {
  control: SharedArrayBuffer;
  index: number;
  port: MessagePort;
}

const data = workerData as WasmWorkerData;
const tables = new Map<number, TaskTable>();

function drain(): void {
  for (;;) {
    const received = receiveMessageOnPort(data.port);
    if (!received) return;
    applyArenaMessage(tables, received.message);
  }
}

function resolve(arenaId: number): TaskTable {
  let table = tables.get(arenaId);
  if (!table) {
    // postMessage enqueues synchronously on the caller's side, so the attach message is already
    // queued by the time a task names the arena.
    drain();
    table = tables.get(arenaId);
    if (!table) throw new Error(`arena ${arenaId} was never attached to this worker`);
  }
  return table;
}

drain();
serveTasks(data.control, data.index, { resolve, readMail: drain });
data.port.close();
