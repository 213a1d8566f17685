// Command groups that several features add to.

import type { Command } from 'commander';

/** The `bench` command group, created on first use so every feature can add its own benchmark. */
export function benchGroup(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'bench');
  if (existing) return existing;
  return program.command('bench').description('benchmarks that compare thrifty with a peer in the same run');
}
