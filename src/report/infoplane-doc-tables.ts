// The tables of docs/infoplane.md, drawn from docs/infoplane-summary.json (the summaries that
// `thrifty infoplane` writes, kept for the two runs the page reports).

import { COMPRESSED_THRESHOLD, FITTED_TRAIN_ACCURACY } from '../train/infoplane/analysis.js';
import { mean, standardDeviation, studentTTwoSided } from '../train/infoplane/stats.js';
import { field, fixed, hasField, markdownTable, pValue, type DocTable } from './doc-tables.js';

const RECORD = 'docs/infoplane-summary.json';

interface Spread {
  readonly mean: number;
  readonly sd: number;
  readonly min: number;
  readonly max: number;
}

interface Group {
  readonly activation: string;
  readonly l2: number;
  readonly runs: number;
  readonly compression: readonly Spread[];
  readonly compressedShare: readonly number[];
  readonly testAccuracy: Spread;
}

interface Correlation {
  readonly r: number | null;
  readonly p: number | null;
  readonly n: number;
}

interface CorrelationSet {
  readonly scope: string;
  readonly layers: ReadonlyArray<{ readonly layer: number; readonly pearson: Correlation; readonly spearman: Correlation }>;
}

interface L2Effect {
  readonly activation: string;
  readonly l2: number;
  readonly difference: readonly number[];
  readonly test: ReadonlyArray<{ readonly p: number | null }>;
}

interface Summary {
  readonly estimator: string;
  readonly groups: readonly Group[];
  readonly l2Effects: readonly L2Effect[];
  readonly correlations: readonly CorrelationSet[];
}

const ACTIVATION_NAMES: Readonly<Record<string, string>> = {
  tanh: 'tanh',
  relu: 'ReLU',
  elu: 'ELU',
  softsign: 'softsign',
  softplus: 'softplus',
  'centered-softplus': 'centred softplus',
  'leaky-relu': 'leaky ReLU',
  prelu: 'PReLU',
  swish: 'swish',
  linear: 'linear',
};

function activationName(id: string): string {
  return ACTIVATION_NAMES[id] ?? id;
}

/** The summary of `estimator` in experiment `experiment` ('protocol' or 'akdeCrossCheck'). */
function summary(record: unknown, experiment: string, estimator: string): Summary {
  const summaries = field(record, `${experiment}.summaries`, RECORD);
  if (!Array.isArray(summaries)) throw new Error(`${RECORD}: field '${experiment}.summaries' is not an array`);
  const found = (summaries as Summary[]).find((s) => s.estimator === estimator);
  if (!found) throw new Error(`${RECORD}: no '${estimator}' summary in '${experiment}'`);
  return found;
}

function groupsAt(s: Summary, l2: number): Group[] {
  return s.groups.filter((g) => g.l2 === l2);
}

/** "mean ± sd (share%)" of a layer's compression in a group. */
function compressionCell(g: Group, layer: number, withShare = true): string {
  const c = g.compression[layer];
  if (!c) throw new Error(`${RECORD}: group ${g.activation} (L2 ${g.l2}) has no layer ${layer + 1}`);
  // One network: its value; a spread and a share need several.
  if (g.runs === 1) return fixed(c.mean, 2);
  const share = withShare ? ` (${Math.round((g.compressedShare[layer] ?? NaN) * 100)}%)` : '';
  return `${fixed(c.mean, 2)} ± ${fixed(c.sd, 2)}${share}`;
}

function layerName(layer: number, layers: number): string {
  return layer === layers - 1 ? `${layer + 1} (output)` : String(layer + 1);
}

function correlationCells(set: CorrelationSet | undefined, layer: number): [string, string] {
  const row = set?.layers.find((l) => l.layer === layer);
  if (!row) return ['-', '-'];
  const cell = (c: Correlation): string => (c.r === null || !Number.isFinite(c.r) ? '-' : `${fixed(c.r, 2)} (${pValue(c.p)})`);
  return [cell(row.pearson), cell(row.spearman)];
}

function correlationSet(s: Summary, scopePrefix: string): CorrelationSet {
  const set = s.correlations.find((c) => c.scope.startsWith(scopePrefix));
  if (!set) throw new Error(`${RECORD}: no '${scopePrefix}' correlations for ${s.estimator}`);
  return set;
}

function runsIn(set: CorrelationSet): number {
  return set.layers[0]?.pearson.n ?? 0;
}

/**
 * Mean, standard deviation and size of the networks of several equal-sized groups, from each
 * group's mean and sd: the pooled values of all networks, as if the runs were listed one by one.
 */
export function poolGroups(groups: ReadonlyArray<{ readonly mean: number; readonly sd: number; readonly n: number }>): { mean: number; sd: number; n: number } {
  const n = groups.reduce((acc, g) => acc + g.n, 0);
  const mean = groups.reduce((acc, g) => acc + g.n * g.mean, 0) / n;
  const squares = groups.reduce((acc, g) => acc + (g.n - 1) * g.sd ** 2 + g.n * (g.mean - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(squares / (n - 1)), n };
}

/** Welch's t-test p-value from two samples' means, standard deviations and sizes. */
export function welchFromMoments(a: { mean: number; sd: number; n: number }, b: { mean: number; sd: number; n: number }): number {
  const va = a.sd ** 2 / a.n;
  const vb = b.sd ** 2 / b.n;
  if (va + vb === 0) return NaN;
  const t = (a.mean - b.mean) / Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  return studentTTwoSided(t, df);
}

/** Two-sided sign test: k of n positive under p = 1/2. */
export function signTestTwoSided(k: number, n: number): number {
  let choose = 1;
  const probabilities: number[] = [];
  for (let i = 0; i <= n; i++) {
    probabilities.push(choose / 2 ** n);
    choose = (choose * (n - i)) / (i + 1);
  }
  const tail = (from: number, to: number): number => probabilities.slice(from, to + 1).reduce((a, b) => a + b, 0);
  return Math.min(1, 2 * Math.min(tail(0, k), tail(k, n)));
}

const ebabNoL2: DocTable = {
  id: 'infoplane/ebab-no-l2',
  record: RECORD,
  render(record) {
    const s = summary(record, 'protocol', 'ebab');
    const groups = groupsAt(s, 0);
    const layers = groups[0]?.compression.length ?? 0;
    const headers = ['activation', ...Array.from({ length: layers }, (_, l) => `layer ${layerName(l, layers)}`), 'test accuracy'];
    const rows = groups.map((g) => [activationName(g.activation), ...Array.from({ length: layers }, (_, l) => compressionCell(g, l)), `${fixed(g.testAccuracy.mean, 3)} ± ${fixed(g.testAccuracy.sd, 3)}`]);
    return markdownTable(headers, rows);
  },
};

const ebabEarlyLayersMax: DocTable = {
  id: 'infoplane/ebab-no-l2-early-layers',
  record: RECORD,
  render(record) {
    const s = summary(record, 'protocol', 'ebab');
    const groups = groupsAt(s, 0);
    const worst = (layer: number): { value: number; who: string } => {
      let best = { value: -Infinity, who: '' };
      for (const g of groups) {
        const c = g.compression[layer]!;
        if (c.max > best.value) best = { value: c.max, who: activationName(g.activation) };
      }
      return best;
    };
    const meanMax = (layer: number): number => Math.max(...groups.map((g) => g.compression[layer]!.mean));
    const l1 = worst(0);
    const l2 = worst(1);
    return (
      `Layers 1 and 2 hardly compress without L2: no network loses more than ${fixed(l1.value, 3)} bits in layer 1 ` +
      `or ${fixed(l2.value, 3)} bits in layer 2 (${l2.who}), and no activation's mean exceeds ${fixed(Math.max(meanMax(0), meanMax(1)), 3)} bits: ` +
      'with 10 and 7 units and 30 adaptive bins they keep nearly all 12 bits.\n'
    );
  },
};

const akdeCrossCheck: DocTable = {
  id: 'infoplane/akde-crosscheck',
  record: RECORD,
  render(record) {
    const ebab = summary(record, 'akdeCrossCheck', 'ebab');
    const akde = summary(record, 'akdeCrossCheck', 'akde');
    const kde = summary(record, 'akdeCrossCheck', 'kde');
    const variance = field(record, 'akdeCrossCheck.config.estimatorSettings.kdeVariance', RECORD);
    const layers = akde.groups[0]?.compression.length ?? 0;
    const last = layers - 2;
    const rows = akde.groups.map((g) => {
      const find = (s: Summary): Group => {
        const match = s.groups.find((x) => x.activation === g.activation && x.l2 === g.l2);
        if (!match) throw new Error(`${RECORD}: ${s.estimator} has no group ${g.activation}`);
        return match;
      };
      return [activationName(g.activation), compressionCell(g, last), compressionCell(g, layers - 1, false), compressionCell(find(kde), last), compressionCell(find(ebab), last, false)];
    });
    return markdownTable(['activation', `aKDE layer ${last + 1}`, 'aKDE output', `KDE σ² = ${String(variance)} layer ${last + 1}`, `EBAB layer ${last + 1} (same runs)`], rows);
  },
};

const l2Pooled: DocTable = {
  id: 'infoplane/l2-pooled',
  record: RECORD,
  render(record) {
    const s = summary(record, 'protocol', 'ebab');
    const l2Values = [...new Set(s.groups.map((g) => g.l2))].sort((a, b) => a - b);
    if (l2Values.length !== 2) throw new Error(`${RECORD}: the L2 table needs two L2 values, found ${l2Values.length}`);
    const base = groupsAt(s, l2Values[0]!);
    const withL2 = groupsAt(s, l2Values[1]!);
    const layers = base[0]?.compression.length ?? 0;
    const rows: string[][] = [];
    for (let l = 0; l < layers; l++) {
      const pooled = (gs: Group[]): { mean: number; sd: number; n: number } => poolGroups(gs.map((g) => ({ mean: g.compression[l]!.mean, sd: g.compression[l]!.sd, n: g.runs })));
      const a = pooled(withL2);
      const b = pooled(base);
      let increased = 0;
      for (const g of withL2) {
        const other = base.find((x) => x.activation === g.activation);
        if (other && g.compression[l]!.mean > other.compression[l]!.mean) increased++;
      }
      const sign = signTestTwoSided(increased, withL2.length);
      rows.push([layerName(l, layers), fixed(b.mean, 2), fixed(a.mean, 2), `${a.mean - b.mean >= 0 ? '+' : ''}${fixed(a.mean - b.mean, 2)}`, pValue(welchFromMoments(a, b)), `${increased}/${withL2.length} (sign test p = ${pValue(sign)})`]);
    }
    return markdownTable(['layer', 'compression without L2', `with L2 = ${l2Values[1]}`, 'difference', 'Welch p', 'activations where L2 increased it'], rows);
  },
};

/** One network of an experiment, as tools/infoplane-summary.mjs lists it. */
interface NetworkRow {
  readonly activation: string;
  readonly l2: number;
  readonly seed: number;
  readonly testLoss: number;
  readonly trainAccuracy: number;
  readonly testAccuracy: number;
  /** Per estimator, per layer (bits). */
  readonly compression: Readonly<Record<string, readonly number[]>>;
}

function networkRows(record: unknown, experiment: string): NetworkRow[] {
  const rows = field(record, `${experiment}.networks`, RECORD);
  if (!Array.isArray(rows) || rows.length === 0) throw new Error(`${RECORD}: '${experiment}.networks' is not a non-empty array`);
  return rows as NetworkRow[];
}

/** The L2 paragraph: per-activation tests, the collapsed networks and the test loss, from the summary and the network rows. */
const l2Notes: DocTable = {
  id: 'infoplane/l2-notes',
  record: RECORD,
  render(record) {
    const s = summary(record, 'protocol', 'ebab');
    const seeds = field(record, 'protocol.seeds', RECORD) as number;
    const networks = networkRows(record, 'protocol');
    const effects = s.l2Effects;
    const hiddenLayers = (effects[0]?.difference.length ?? 1) - 1;
    const significant = effects.filter((e) => e.test.slice(0, hiddenLayers).some((t, l) => t.p !== null && t.p < 0.05 && e.difference[l]! > 0));
    const notSignificant = effects.filter((e) => !significant.includes(e)).map((e) => activationName(e.activation));
    const l2Value = effects[0]?.l2 ?? NaN;
    const collapsed = networks.filter((n) => n.trainAccuracy < FITTED_TRAIN_ACCURACY);
    const meanLoss = (l2: number): number => mean(networks.filter((n) => n.l2 === l2).map((n) => n.testLoss));
    const accuracies = (n: NetworkRow): string => `train ${fixed(n.trainAccuracy, 3)}, test ${fixed(n.testAccuracy, 3)}`;
    // Networks that collapse to one class all end at the same accuracies: said once.
    const same = collapsed.every((n) => accuracies(n) === accuracies(collapsed[0]!));
    const collapsedText = collapsed.length === 0
      ? `no network fell below a training accuracy of ${FITTED_TRAIN_ACCURACY}`
      : `${collapsed.length} of the ${networks.length} networks did not learn (training accuracy below ${FITTED_TRAIN_ACCURACY}${same ? `; all at ${accuracies(collapsed[0]!)}` : ''}): ` +
        collapsed.map((n) => `${activationName(n.activation)} seed ${n.seed} at L2 ${n.l2}${same ? '' : ` (${accuracies(n)})`}`).join(', ');
    return (
      `Per activation (${seeds} seeds against ${seeds}, Welch) the increase is significant at p < 0.05 in at least one hidden layer for ` +
      `${significant.length} of the ${effects.length} activations${notSignificant.length > 0 ? ` (not ${notSignificant.join(', ')})` : ''}. ` +
      `L2 = ${l2Value} changed the mean test loss from ${fixed(meanLoss(0), 2)} to ${fixed(meanLoss(l2Value), 2)} nats; ${collapsedText}.\n`
    );
  },
};

/** The protocol's figures that the claims table quotes, from its network rows (EBAB). */
const protocolFacts: DocTable = {
  id: 'infoplane/protocol-facts',
  record: RECORD,
  render(record) {
    const networks = networkRows(record, 'protocol');
    const noL2 = networks.filter((n) => n.l2 === 0);
    const withL2 = networks.filter((n) => n.l2 !== 0);
    const ebab = (n: NetworkRow): readonly number[] => {
      const c = n.compression.ebab;
      if (!c) throw new Error(`${RECORD}: protocol network ${n.activation} seed ${n.seed} has no ebab compression`);
      return c;
    };
    const layers = ebab(networks[0]!).length;
    const lastHidden = layers - 2;
    const compressesLast = noL2.filter((n) => ebab(n)[lastHidden]! > COMPRESSED_THRESHOLD).length;
    const compressesSome = noL2.filter((n) => ebab(n).slice(0, layers - 1).some((c) => c > COMPRESSED_THRESHOLD)).length;
    const activations = [...new Set(noL2.map((n) => n.activation))];
    const everyActivation = activations.filter((a) => noL2.filter((n) => n.activation === a).some((n) => ebab(n)[lastHidden]! > COMPRESSED_THRESHOLD)).length;
    const meanOf = (rows: readonly NetworkRow[], pick: (n: NetworkRow) => number): number => mean(rows.map(pick));
    const learned = withL2.filter((n) => n.trainAccuracy >= FITTED_TRAIN_ACCURACY);
    // Seed-to-seed spread: (activation, L2, hidden layer) cells with a mean above the threshold whose sd is at least half the mean.
    let cells = 0;
    let wide = 0;
    for (const a of activations) {
      for (const l2 of new Set(networks.map((n) => n.l2))) {
        const group = networks.filter((n) => n.activation === a && n.l2 === l2);
        for (let l = 0; l < layers - 1; l++) {
          const values = group.map((n) => ebab(n)[l]!);
          const m = mean(values);
          if (m <= COMPRESSED_THRESHOLD || values.length < 2) continue;
          const sd = standardDeviation(values);
          cells++;
          if (sd >= m / 2) wide++;
        }
      }
    }
    return [
      `- Without L2, the last hidden layer (${lastHidden + 1}) compresses by more than ${COMPRESSED_THRESHOLD} bit in ${compressesLast} of ${noL2.length} networks, in at least one network of ${everyActivation} of the ${activations.length} activations; ${compressesSome} of ${noL2.length} compress some hidden layer.`,
      `- Test accuracy: ${fixed(meanOf(noL2, (n) => n.testAccuracy), 3)} without L2, ${fixed(meanOf(withL2, (n) => n.testAccuracy), 3)} with L2 (${fixed(meanOf(learned, (n) => n.testAccuracy), 3)} over the ${learned.length} networks with L2 that learned); test loss ${fixed(meanOf(noL2, (n) => n.testLoss), 2)} and ${fixed(meanOf(withL2, (n) => n.testLoss), 2)} nats.`,
      `- Seed-to-seed spread: of the ${cells} (activation, L2, hidden layer) groups whose mean compression exceeds ${COMPRESSED_THRESHOLD} bit, ${wide} have a standard deviation of at least half their mean.`,
      '',
    ].join('\n');
  },
};

const ebabCorrelations: DocTable = {
  id: 'infoplane/correlations-ebab',
  record: RECORD,
  render(record) {
    const s = summary(record, 'protocol', 'ebab');
    const all = correlationSet(s, 'all runs');
    const learned = correlationSet(s, 'runs with train accuracy');
    const noL2 = correlationSet(s, 'L2 = 0');
    const layers = all.layers.length;
    const rows = all.layers.map((_, l) => [layerName(l, layers), ...correlationCells(all, l), ...correlationCells(learned, l), ...correlationCells(noL2, l)]);
    return markdownTable(
      ['layer', `all ${runsIn(all)}: Pearson r (p)`, 'Spearman ρ (p)', `${runsIn(learned)} that learned: r (p)`, 'ρ (p)', `no L2, ${runsIn(noL2)}: r (p)`, 'ρ (p)'],
      rows,
    );
  },
};

const crossCheckCorrelations: DocTable = {
  id: 'infoplane/correlations-crosscheck',
  record: RECORD,
  render(record) {
    const variance = field(record, 'akdeCrossCheck.config.estimatorSettings.kdeVariance', RECORD);
    const sets = ['ebab', 'akde', 'kde'].map((e) => correlationSet(summary(record, 'akdeCrossCheck', e), 'all runs'));
    const layers = sets[0]!.layers.length;
    const rows = sets[0]!.layers.map((_, l) => [layerName(l, layers), ...sets.flatMap((set) => correlationCells(set, l))]);
    return markdownTable(
      ['layer', `EBAB (${runsIn(sets[0]!)} networks): r (p)`, 'ρ (p)', 'aKDE: r (p)', 'ρ (p)', `KDE σ² = ${String(variance)}: r (p)`, 'ρ (p)'],
      rows,
    );
  },
};

/** The experiment of the record added after the first two: the cross-check at Saxe et al.'s 12-bit variance. */
const KDE_1E3 = 'kdeCrossCheck1e3';

function groupOf(s: Summary, activation: string, l2: number): Group {
  const match = s.groups.find((x) => x.activation === activation && x.l2 === l2);
  if (!match) throw new Error(`${RECORD}: ${s.estimator} has no group ${activation} (L2 ${l2})`);
  return match;
}

/** Compression of the last hidden layer and the output under the fixed KDE at both variances, next to aKDE, on the same 16 networks. */
const kdeVariances: DocTable = {
  id: 'infoplane/kde-variances',
  record: RECORD,
  render(record) {
    const wide = summary(record, 'akdeCrossCheck', 'kde');
    const narrow = summary(record, KDE_1E3, 'kde');
    const akde = summary(record, KDE_1E3, 'akde');
    const wideVariance = field(record, 'akdeCrossCheck.config.estimatorSettings.kdeVariance', RECORD);
    const narrowVariance = field(record, `${KDE_1E3}.config.estimatorSettings.kdeVariance`, RECORD);
    const layers = narrow.groups[0]?.compression.length ?? 0;
    const last = layers - 2;
    const rows = narrow.groups.map((g) => [
      activationName(g.activation),
      compressionCell(groupOf(wide, g.activation, g.l2), last),
      compressionCell(g, last),
      compressionCell(groupOf(wide, g.activation, g.l2), layers - 1, false),
      compressionCell(g, layers - 1, false),
      compressionCell(groupOf(akde, g.activation, g.l2), last),
    ]);
    const networks = (x: Summary): string => `${x.groups.reduce((acc, g) => acc + g.runs, 0)} networks`;
    return markdownTable(
      [
        'activation',
        `KDE σ² = ${String(wideVariance)} layer ${last + 1} (${networks(wide)})`,
        `KDE σ² = ${String(narrowVariance)} layer ${last + 1} (${networks(narrow)})`,
        `σ² = ${String(wideVariance)} output`,
        `σ² = ${String(narrowVariance)} output`,
        `aKDE layer ${last + 1} (${networks(akde)})`,
      ],
      rows,
    );
  },
};

/** An estimator's column title in an experiment's tables (the fixed KDE with its variance). */
function estimatorTitle(record: unknown, experiment: string): (estimator: string) => string {
  const variance = field(record, `${experiment}.config.estimatorSettings.kdeVariance`, RECORD);
  return (e) => (e === 'kde' ? `KDE σ² = ${String(variance)}` : e === 'akde' ? 'aKDE' : e.toUpperCase());
}

/** Correlations of every estimator of an experiment (all its networks), side by side. */
function correlationsByEstimator(id: string, experiment: string): DocTable {
  return {
    id,
    record: RECORD,
    render(record) {
      const estimators = field(record, `${experiment}.config.estimators`, RECORD) as string[];
      const title = estimatorTitle(record, experiment);
      const sets = estimators.map((e) => correlationSet(summary(record, experiment, e), 'all runs'));
      const layers = sets[0]!.layers.length;
      const rows = sets[0]!.layers.map((_, l) => [layerName(l, layers), ...sets.flatMap((set) => correlationCells(set, l))]);
      const headers = ['layer', ...estimators.flatMap((e, i) => [`${title(e)}${i === 0 ? ` (${runsIn(sets[0]!)} networks)` : ''}: r (p)`, 'ρ (p)'])];
      return markdownTable(headers, rows);
    },
  };
}

const MNIST = 'mnist';

/** MNIST: every estimator's compression per layer and the test accuracy, per activation (mean ± sd over the seeds). */
const mnist: DocTable = {
  id: 'infoplane/mnist',
  record: RECORD,
  render(record) {
    const estimators = field(record, `${MNIST}.config.estimators`, RECORD) as string[];
    const title = estimatorTitle(record, MNIST);
    const all = estimators.map((e) => summary(record, MNIST, e));
    const layers = all[0]?.groups[0]?.compression.length ?? 0;
    const headers = ['activation', 'estimator', ...Array.from({ length: layers }, (_, l) => `layer ${layerName(l, layers)}`), 'test accuracy'];
    const rows = (all[0]?.groups ?? []).flatMap((g) =>
      all.map((s) => {
        const own = groupOf(s, g.activation, g.l2);
        return [activationName(g.activation), title(s.estimator), ...Array.from({ length: layers }, (_, l) => compressionCell(own, l)), `${fixed(own.testAccuracy.mean, 3)} ± ${fixed(own.testAccuracy.sd, 3)}`];
      }),
    );
    return markdownTable(headers, rows);
  },
};

/** What the added runs cost (sums over their networks, from the records' timings). */
const budgets: DocTable = {
  id: 'infoplane/budgets',
  record: RECORD,
  render(record) {
    const minutes = (s: number): string => fixed(s / 60, 1);
    const experiments = [...(hasField(record, 'protocol.budget') ? ['protocol'] : []), KDE_1E3, MNIST];
    const rows = experiments.map((experiment) => {
      const budget = field(record, `${experiment}.budget`, RECORD) as { networks: number; trainCpuSeconds: number; estimatorCpuSeconds: number };
      const activations = field(record, `${experiment}.activations`, RECORD) as string[];
      const seeds = field(record, `${experiment}.seeds`, RECORD) as number;
      const variance = field(record, `${experiment}.config.estimatorSettings.kdeVariance`, RECORD);
      const dataset = field(record, `${experiment}.dataset`, RECORD) === 'mnist' ? 'MNIST' : '12-bit';
      const estimators = (field(record, `${experiment}.config.estimators`, RECORD) as string[]).join(', ');
      const what = experiment === MNIST ? estimators : experiment === 'protocol' ? `protocol, ${estimators}` : `fixed KDE at σ² = ${String(variance)}`;
      const l2 = field(record, `${experiment}.l2`, RECORD) as number[];
      const l2Part = l2.length > 1 ? ` x ${l2.length} L2 values` : '';
      const title = `${what} (${dataset}, ${activations.length} activations x ${seeds} seed${seeds === 1 ? '' : 's'}${l2Part})`;
      return [title, String(budget.networks), minutes(budget.trainCpuSeconds), minutes(budget.estimatorCpuSeconds), minutes((budget.trainCpuSeconds + budget.estimatorCpuSeconds) / budget.networks)];
    });
    return markdownTable(['runs', 'networks', 'training (thread-minutes)', 'estimators (thread-minutes)', 'per network (minutes)'], rows, ['l', 'r', 'r', 'r', 'r']);
  },
};

export const INFOPLANE_DOC_TABLES: readonly DocTable[] = [
  ebabNoL2,
  ebabEarlyLayersMax,
  akdeCrossCheck,
  l2Pooled,
  l2Notes,
  protocolFacts,
  ebabCorrelations,
  crossCheckCorrelations,
  kdeVariances,
  correlationsByEstimator('infoplane/correlations-kde-1e-3', KDE_1E3),
  mnist,
  budgets,
];
