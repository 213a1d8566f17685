// Kernel worker of the browser pool (src/web/wasm-pool.ts). It serves tasks in serveTasks, blocked
// in Atomics.wait between them; when the pool announces messages (arenas to attach or detach) it
// leaves the loop, lets its event loop deliver them, and returns to the loop once it has read every
// message announced so far (the task that was waiting then runs).

import type { TaskTable } from '../backend/wasm/abi.js';
import { applyArenaMessage, serveTasks } from '../backend/wasm/pool.js';
import type { WebWorkerInit } from './wasm-pool.js';

const tables = new Map<number, TaskTable>();
let init: WebWorkerInit | null = null;
let announced: Int32Array | null = null;
let received = 0;

function isInit(value: unknown): value is WebWorkerInit {
  return typeof value === 'object' && value !== null && (value as Partial<WebWorkerInit>).control instanceof SharedArrayBuffer;
}

/** True while messages were announced that this worker has not read yet. */
function mailPending(): boolean {
  return announced !== null && init !== null && Atomics.load(announced, init.index) !== received;
}

function serve(): void {
  if (!init) return;
  const result = serveTasks(init.control, init.index, {
    resolve: (arenaId) => {
      const table = tables.get(arenaId);
      if (!table) throw new Error(`arena ${arenaId} was never attached to this worker`);
      return table;
    },
    readMail: () => !mailPending(),
  });
  if (result === 'quit') close();
}

addEventListener('message', (event: MessageEvent<unknown>) => {
  const msg = event.data;
  if (isInit(msg)) {
    init = msg;
    announced = new Int32Array(msg.announced);
  } else {
    received++;
    applyArenaMessage(tables, msg);
  }
  if (!mailPending()) serve();
});
