// The BPE merge loop shared by the tokenizers: repeatedly merge the adjacent pair with the best
// priority (lowest merge rank for Hugging Face BPE, highest score for SentencePiece), leftmost
// first on ties, until no pair merges. A heap over pair positions with stale-entry checks (as in
// Hugging Face tokenizers' Word::merge_all) makes it O(n log n) rather than llama2.c's O(n^2)
// rescans, with the same result: every adjacent pair is always in the heap, ordered by
// (priority, position), and positions keep their left-to-right order through merges.

/** How a pair of adjacent symbols merges: into `id`, with `priority` (smaller merges first). */
export interface PairMerge {
  readonly priority: number;
  readonly id: number;
}

export type PairLookup = (left: number, right: number) => PairMerge | undefined;

/** A min-heap of (priority, position, id) triples in parallel arrays. */
class MergeHeap {
  private priority: number[] = [];
  private position: number[] = [];
  private id: number[] = [];

  get size(): number {
    return this.priority.length;
  }

  private less(i: number, j: number): boolean {
    const a = this.priority[i]!;
    const b = this.priority[j]!;
    return a < b || (a === b && this.position[i]! < this.position[j]!);
  }

  private swap(i: number, j: number): void {
    const p = this.priority;
    const q = this.position;
    const r = this.id;
    [p[i], p[j]] = [p[j]!, p[i]!];
    [q[i], q[j]] = [q[j]!, q[i]!];
    [r[i], r[j]] = [r[j]!, r[i]!];
  }

  push(priority: number, position: number, id: number): void {
    this.priority.push(priority);
    this.position.push(position);
    this.id.push(id);
    let i = this.priority.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the top; returns [position, id]. */
  pop(): [number, number] {
    const top: [number, number] = [this.position[0]!, this.id[0]!];
    const last = this.priority.length - 1;
    this.swap(0, last);
    this.priority.pop();
    this.position.pop();
    this.id.pop();
    let i = 0;
    const n = this.priority.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

/** Applies merges to a sequence of symbol ids; returns the merged ids. */
export function mergeSymbols(symbols: readonly number[], lookup: PairLookup): number[] {
  const n = symbols.length;
  if (n < 2) return [...symbols];
  const ids = Int32Array.from(symbols);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const heap = new MergeHeap();
  for (let i = 0; i + 1 < n; i++) {
    const m = lookup(ids[i]!, ids[i + 1]!);
    if (m) heap.push(m.priority, i, m.id);
  }
  while (heap.size > 0) {
    const [pos, newId] = heap.pop();
    if (!alive[pos]) continue;
    const right = next[pos]!;
    if (right < 0) continue;
    // A stale entry: the pair at `pos` changed since it was queued.
    const current = lookup(ids[pos]!, ids[right]!);
    if (!current || current.id !== newId) continue;
    ids[pos] = newId;
    alive[right] = 0;
    const after = next[right]!;
    next[pos] = after;
    if (after >= 0) prev[after] = pos;
    const before = prev[pos]!;
    if (before >= 0) {
      const m = lookup(ids[before]!, newId);
      if (m) heap.push(m.priority, before, m.id);
    }
    if (after >= 0) {
      const m = lookup(newId, ids[after]!);
      if (m) heap.push(m.priority, pos, m.id);
    }
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]!) out.push(ids[i]!);
  return out;
}
