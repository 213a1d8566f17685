// Work sharing among the threads of one kernel call: a counter in the call's scratch (a cache line
// of its own) from which every thread takes the next task, so that a thread that starts late, is
// descheduled or reads memory more slowly takes fewer tasks instead of holding up the call.

/**
 * The task a thread runs next: with next != 0, whatever the call's shared counter hands out; with
 * next == 0, t (a single thread walks the tasks in order).
 */
// @ts-ignore: decorator
@inline
export function claim(next: usize, t: i32): i32 {
  return next != 0 ? atomic.add<i32>(next, 1) : t;
}
