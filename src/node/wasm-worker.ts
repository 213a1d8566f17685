// Worker thread of the Node wasm pool (see src/node/wasm-pool.ts). It blocks in serveTasks and
// never returns to its event loop while the pool lives, so new arenas arrive on a MessagePort
// that it drains synchronously with receiveMessageOnPort when a task names an unknown arena.

import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { instantiateKernels, taskTable, type TaskTable } from '../backend/wasm/abi.js';
import { serveTasks } from '../backend/wasm/pool.js';

export interface WasmWorkerData {
  control: SharedArrayBuffer;
  index: number;
  port: MessagePort;
}

export interface AttachMessage {
  arenaId: number;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
}

export interface DetachMessage {
  detach: number;
}

function isAttachMessage(value: unknown): value is AttachMessage {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<AttachMessage>;
  return typeof v.arenaId === 'number' && v.memory instanceof WebAssembly.Memory && v.module instanceof WebAssembly.Module;
}

function isDetachMessage(value: unknown): value is DetachMessage {
  return typeof value === 'object' && value !== null && typeof (value as Partial<DetachMessage>).detach === 'number';
}

const data = workerData as WasmWorkerData;
const tables = new Map<number, TaskTable>();

function drain(): void {
  for (;;) {
    const received = receiveMessageOnPort(data.port);
    if (!received) return;
    const msg: unknown = received.message;
    if (isAttachMessage(msg)) tables.set(msg.arenaId, taskTable(instantiateKernels(msg.module, msg.memory)));
    else if (isDetachMessage(msg)) tables.delete(msg.detach);
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
