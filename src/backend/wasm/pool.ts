// Thread pool interface and its dispatch protocol over a shared control block (platform-neutral:
// only SharedArrayBuffer and Atomics). The Node implementation lives in src/node/wasm-pool.ts, the
// browser's (Web Workers) in src/web/wasm-pool.ts.
//
// Why spin: on the project VM a futex wake-up (Atomics.notify -> Atomics.wait returning) costs
// 80-100 us, while a round trip between two spinning threads costs ~1.4 us
// (shared/engine-measurements.md). Both sides therefore poll with Atomics.load for a while before
// they sleep: a worker keeps polling for WORKER_SPIN_MS after its last task, so back-to-back
// kernel calls find it awake, and the caller polls while waiting for results.
//
// Why reclaim: a worker that is asleep (the 80-100 us wake-up) or descheduled (2 cores shared with
// other processes) would make the caller wait for a part it could have run itself. Every posted
// task is therefore claimed, exactly once, by whoever starts it first: the worker when it wakes,
// or the caller once its own part is done (reclaim). A caller never waits longer than the 1-thread
// time plus the check, and a late worker finds its task gone and goes back to waiting.

import { instantiateKernels, taskTable, type TaskTable } from './abi.js';

/** Worker threads running the kernel module over arena memories. */
export interface ThreadPool {
  /** Number of worker threads; the calling thread works too, so a pool of w gives w + 1 threads. */
  readonly workers: number;
  /**
   * Makes an arena known to all workers. They pick it up synchronously (before running the first
   * task that names arenaId) and instantiate `module` over `memory`.
   */
  attach(arenaId: number, memory: WebAssembly.Memory, module: WebAssembly.Module): void;
  /** Lets workers drop their instance of an arena (so its memory can be freed). */
  detach(arenaId: number): void;
  /** Posts a task (index into TASK_FUNCTIONS, numeric arguments) to one worker; returns at once. */
  post(worker: number, fn: number, arenaId: number, args: ArrayLike<number>): void;
  /**
   * Takes back the task posted to `worker` if the worker has not started it (then the caller runs
   * it, and wait() no longer waits for it). Returns whether it did.
   */
  reclaim(worker: number): boolean;
  /** Blocks until all posted tasks are done; rethrows the first worker failure. */
  wait(): void;
  /** Stops the workers. */
  dispose(): void;
}

/** Makes an arena known to a worker: it instantiates `module` over `memory`. */
export interface AttachMessage {
  readonly arenaId: number;
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
}

/** Lets a worker drop its instance of an arena. */
export interface DetachMessage {
  readonly detach: number;
}

/**
 * Worker side of attach / detach: updates `tables` (arena id -> the worker's kernels in that
 * arena) for an attach or detach message; returns false for any other message.
 */
export function applyArenaMessage(tables: Map<number, TaskTable>, message: unknown): boolean {
  if (typeof message !== 'object' || message === null) return false;
  const attach = message as Partial<AttachMessage>;
  if (typeof attach.arenaId === 'number' && attach.memory instanceof WebAssembly.Memory && attach.module instanceof WebAssembly.Module) {
    tables.set(attach.arenaId, taskTable(instantiateKernels(attach.module, attach.memory)));
    return true;
  }
  const detach = (message as Partial<DetachMessage>).detach;
  if (typeof detach === 'number') {
    tables.delete(detach);
    return true;
  }
  return false;
}

/**
 * What the Node and browser pools share: the control block, the arenas the workers know, and the
 * ThreadPool methods. A platform supplies how a message reaches every worker and how they stop.
 */
export abstract class WorkerPool implements ThreadPool {
  readonly workers: number;
  protected readonly control: ControlBlock;
  private readonly attached = new Set<number>();
  private disposed = false;

  /** `pollMs`: how often ready() looks at the workers. */
  protected constructor(workers: number, canBlock: boolean, private readonly pollMs: number) {
    this.workers = workers;
    this.control = new ControlBlock(workers, canBlock);
  }

  /** Posts `message` to every worker (the control block's mail flag is raised after). */
  protected abstract broadcast(message: AttachMessage | DetachMessage): void;

  /** Stops the worker threads (after the quit task was posted). */
  protected abstract stopWorkers(): void;

  /** Why a worker could not start, or null. */
  protected startFailure(): string | null {
    return null;
  }

  /** Resolves once every worker runs its task loop. */
  async ready(timeoutMs = 10000): Promise<void> {
    const start = performance.now();
    for (;;) {
      const failure = this.startFailure();
      if (failure !== null) throw new Error(failure);
      let all = true;
      for (let w = 0; w < this.workers; w++) if (!this.control.ready(w)) all = false;
      if (all) return;
      if (performance.now() - start > timeoutMs) throw new Error('thrifty: wasm workers did not start');
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  attach(arenaId: number, memory: WebAssembly.Memory, module: WebAssembly.Module): void {
    if (this.disposed) throw new Error('thrifty: thread pool disposed');
    if (this.attached.has(arenaId)) return;
    this.attached.add(arenaId);
    this.broadcast({ arenaId, memory, module });
    this.control.mail();
  }

  detach(arenaId: number): void {
    if (this.disposed || !this.attached.delete(arenaId)) return;
    this.broadcast({ detach: arenaId });
    this.control.mail();
  }

  post(worker: number, fn: number, arenaId: number, args: ArrayLike<number>): void {
    this.control.post(worker, fn, arenaId, args);
  }

  reclaim(worker: number): boolean {
    return this.control.reclaim(worker);
  }

  wait(): void {
    this.control.wait();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.control.quit();
    this.stopWorkers();
  }
}

// Control block layout: one 512-byte slot per worker. Bytes 0-63: caller-written header; 64-255:
// f64 arguments; 256-319: worker-written status (its own cache line; the claim word is written by
// whichever side claims the task); 320-511: error text (UTF-16).
const SLOT_BYTES = 512;
const I_SEQ = 0; // written by the caller: task generation
const I_FN = 1;
const I_ARENA = 2;
const I_ARGC = 3;
const I_MAIL = 4; // 1 when the caller sent port messages (attach/detach) since the worker last looked
const ARGS_F64 = 8; // f64 index of the first argument within the slot (byte 64)
export const MAX_TASK_ARGS = 24;
const I_DONE = 64; // written by the worker: last finished generation
const I_ERROR = 65; // 1 when the task failed; message in the text area
const I_ERRLEN = 66;
const I_READY = 67; // worker loop started
// The last generation claimed (by the worker or, through reclaim, the caller). Generations are
// posted one at a time and each is claimed before the next is posted, so generation s is unclaimed
// exactly while the word holds s - 1: claiming is compareExchange(s - 1 -> s).
const I_CLAIM = 68;
const TEXT_BYTE = 320;
const TEXT_CHARS = (SLOT_BYTES - TEXT_BYTE) / 2;

/** Function index that tells a worker to leave its loop. */
export const QUIT_TASK = -1;

/**
 * How long a worker keeps polling after a task before it sleeps in Atomics.wait. Decode runs JS
 * between kernels (tensor bookkeeping, small ops): gaps of 0.1-1 ms. With 0.2 ms a 1024 x 1024
 * gemv after a 0.3 ms gap took 300-350 us on 2 threads against 100 us on 1 (the worker was asleep);
 * with 1.5 ms, 110 us (same run, load average 18 on 2 cores; docs/records/bench).
 */
export const WORKER_SPIN_MS = 1.5;
/** How long the caller polls for results before it sleeps (with a timeout, polling again). */
export const CALLER_SPIN_MS = 2;

export function controlBlockBytes(workers: number): number {
  return Math.max(1, workers) * SLOT_BYTES;
}

/** Caller side of the protocol. */
export class ControlBlock {
  readonly buffer: SharedArrayBuffer;
  readonly workers: number;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly u16: Uint16Array;
  private readonly seq: number[];
  private readonly pending: boolean[];
  private readonly canBlock: boolean;

  /** canBlock: whether this thread may call Atomics.wait (false on a browser main thread). */
  constructor(workers: number, canBlock: boolean, buffer?: SharedArrayBuffer) {
    this.workers = workers;
    this.buffer = buffer ?? new SharedArrayBuffer(controlBlockBytes(workers));
    this.i32 = new Int32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.seq = new Array<number>(workers).fill(0);
    this.pending = new Array<boolean>(workers).fill(false);
    this.canBlock = canBlock;
  }

  post(worker: number, fn: number, arenaId: number, args: ArrayLike<number>): void {
    if (worker < 0 || worker >= this.workers) throw new RangeError(`thrifty: no worker ${worker}`);
    if (this.pending[worker]) throw new Error(`thrifty: worker ${worker} is busy (wait() first)`);
    const argc = args.length;
    if (argc > MAX_TASK_ARGS) throw new RangeError(`thrifty: task has ${argc} arguments (max ${MAX_TASK_ARGS})`);
    const base = (worker * SLOT_BYTES) >> 2;
    const fbase = ((worker * SLOT_BYTES) >> 3) + ARGS_F64;
    const f64 = this.f64;
    for (let i = 0; i < argc; i++) f64[fbase + i] = args[i]!;
    const i32 = this.i32;
    i32[base + I_FN] = fn | 0;
    i32[base + I_ARENA] = arenaId | 0;
    i32[base + I_ARGC] = argc;
    const s = (this.seq[worker]! + 1) | 0;
    this.seq[worker] = s;
    this.pending[worker] = true;
    // The store publishes everything above (Atomics are sequentially consistent).
    Atomics.store(i32, base + I_SEQ, s);
    Atomics.notify(i32, base + I_SEQ, 1);
  }

  reclaim(worker: number): boolean {
    if (!this.pending[worker]) return false;
    const s = this.seq[worker]!;
    const index = ((worker * SLOT_BYTES) >> 2) + I_CLAIM;
    if (Atomics.compareExchange(this.i32, index, (s - 1) | 0, s) !== ((s - 1) | 0)) return false;
    this.pending[worker] = false;
    return true;
  }

  wait(): void {
    let failure: Error | undefined;
    for (let w = 0; w < this.workers; w++) {
      if (!this.pending[w]) continue;
      const base = (w * SLOT_BYTES) >> 2;
      const s = this.seq[w]!;
      this.waitDone(base + I_DONE, s);
      this.pending[w] = false;
      if (Atomics.load(this.i32, base + I_ERROR) !== 0) {
        const len = this.i32[base + I_ERRLEN]!;
        const off = (w * SLOT_BYTES + TEXT_BYTE) >> 1;
        let text = '';
        for (let i = 0; i < len; i++) text += String.fromCharCode(this.u16[off + i]!);
        Atomics.store(this.i32, base + I_ERROR, 0);
        failure ??= new Error(`thrifty: wasm worker ${w} failed: ${text}`);
      }
    }
    if (failure) throw failure;
  }

  /** Tells every worker to read its message port before its next task. */
  mail(): void {
    for (let w = 0; w < this.workers; w++) Atomics.store(this.i32, ((w * SLOT_BYTES) >> 2) + I_MAIL, 1);
  }

  /** Whether worker w has entered its loop. */
  ready(worker: number): boolean {
    return Atomics.load(this.i32, ((worker * SLOT_BYTES) >> 2) + I_READY) === 1;
  }

  /** Posts QUIT to every worker. */
  quit(): void {
    for (let w = 0; w < this.workers; w++) {
      if (this.pending[w]) continue;
      this.post(w, QUIT_TASK, 0, []);
      this.pending[w] = false;
    }
  }

  private waitDone(index: number, s: number): void {
    const i32 = this.i32;
    if (Atomics.load(i32, index) === s) return;
    const start = performance.now();
    for (;;) {
      for (let i = 0; i < 256; i++) {
        if (Atomics.load(i32, index) === s) return;
      }
      if (performance.now() - start > CALLER_SPIN_MS) break;
    }
    for (;;) {
      const v = Atomics.load(i32, index);
      if (v === s) return;
      if (this.canBlock) Atomics.wait(i32, index, v, 5);
    }
  }
}

/** Resolves an arena id to the callable kernels of that arena in this worker. */
export type ResolveTasks = (arenaId: number) => ReadonlyArray<(...args: number[]) => void>;

/** Worker-side hooks: resolve arenas, and read pending messages (attach / detach) when flagged. */
export interface WorkerHooks {
  resolve: ResolveTasks;
  /**
   * Reads the pending messages. Returns false where they cannot be read synchronously (browsers:
   * no receiveMessageOnPort); serveTasks then returns 'mail' with the task still pending, and the
   * worker calls it again once its event loop has delivered the messages.
   */
  readMail: () => boolean | void;
}

/**
 * Worker side of the protocol: runs tasks until QUIT ('quit'), or until messages must be read on
 * the worker's event loop ('mail'; see WorkerHooks.readMail). Every exception is reported through
 * the control block (the caller rethrows it), so a failing kernel never leaves the caller waiting.
 */
export function serveTasks(buffer: SharedArrayBuffer, worker: number, hooks: WorkerHooks): 'quit' | 'mail' {
  const i32 = new Int32Array(buffer);
  const f64 = new Float64Array(buffer);
  const u16 = new Uint16Array(buffer);
  const base = (worker * SLOT_BYTES) >> 2;
  const fbase = ((worker * SLOT_BYTES) >> 3) + ARGS_F64;
  const args: number[] = [];
  let seen = Atomics.load(i32, base + I_DONE);
  Atomics.store(i32, base + I_READY, 1);
  for (;;) {
    let s = Atomics.load(i32, base + I_SEQ);
    if (s === seen) {
      s = spinFor(i32, base + I_SEQ, seen);
      if (s === seen) {
        Atomics.wait(i32, base + I_SEQ, seen);
        continue;
      }
    }
    seen = s;
    if (i32[base + I_FN] === QUIT_TASK) {
      Atomics.store(i32, base + I_DONE, s);
      Atomics.notify(i32, base + I_DONE);
      return 'quit';
    }
    // Messages first (a return for 'mail' leaves the task unclaimed), then the claim: when the
    // caller reclaimed generation s it ran it; the slot may already hold a newer one.
    let mailError: unknown;
    if (Atomics.load(i32, base + I_MAIL) !== 0) {
      Atomics.store(i32, base + I_MAIL, 0);
      try {
        if (hooks.readMail() === false) return 'mail';
      } catch (err) {
        mailError = err;
      }
    }
    if (Atomics.compareExchange(i32, base + I_CLAIM, (s - 1) | 0, s) !== ((s - 1) | 0)) continue;
    const fn = i32[base + I_FN]!;
    try {
      if (mailError !== undefined) throw mailError;
      const table = hooks.resolve(i32[base + I_ARENA]!);
      const kernel = table[fn];
      if (!kernel) throw new Error(`unknown task function ${fn}`);
      const argc = i32[base + I_ARGC]!;
      args.length = argc;
      for (let i = 0; i < argc; i++) args[i] = f64[fbase + i]!;
      kernel(...args);
    } catch (err) {
      const text = String(err instanceof Error ? err.stack ?? err.message : err).slice(0, TEXT_CHARS);
      const off = (worker * SLOT_BYTES + TEXT_BYTE) >> 1;
      for (let i = 0; i < text.length; i++) u16[off + i] = text.charCodeAt(i);
      i32[base + I_ERRLEN] = text.length;
      Atomics.store(i32, base + I_ERROR, 1);
    }
    Atomics.store(i32, base + I_DONE, s);
    Atomics.notify(i32, base + I_DONE);
  }
}

// Polls index until it differs from `seen` or WORKER_SPIN_MS pass; returns the last value read.
function spinFor(i32: Int32Array, index: number, seen: number): number {
  const start = performance.now();
  for (;;) {
    for (let i = 0; i < 512; i++) {
      const v = Atomics.load(i32, index);
      if (v !== seen) return v;
    }
    if (performance.now() - start > WORKER_SPIN_MS) return seen;
  }
}
