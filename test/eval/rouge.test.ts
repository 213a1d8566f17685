import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

import { lcsLength, porterStem, rougeL, rougeN, rougeTokens } from '../../src/eval/rouge.js';

// dist/test/eval -> test/eval/fixtures
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../test/eval/fixtures');

const close = (a: number, b: number, places = 5): boolean => Math.abs(a - b) < 0.5 * 10 ** -places;

describe('Porter stemmer (NLTK_EXTENSIONS mode, as rouge-score uses it)', () => {
  it('gives the stems of the paper and of NLTK for every word of the fixture vocabulary', () => {
    // test/eval/fixtures/porter-nltk.tsv: written by tools/eval-porter-fixture.py with nltk 3.10.3
    const rows = readFileSync(join(fixtures, 'porter-nltk.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t') as [string, string]);
    assert.ok(rows.length > 4000, `only ${rows.length} fixture words`);
    const wrong = rows.filter(([word, stem]) => porterStem(word) !== stem).map(([word, stem]) => `${word}: ${porterStem(word)} != ${stem}`);
    assert.deepEqual(wrong.slice(0, 20), []);
  });

  it('keeps NLTK deviations from the 1980 algorithm', () => {
    assert.equal(porterStem('dies'), 'die');
    assert.equal(porterStem('flies'), 'fli');
    assert.equal(porterStem('enjoy'), 'enjoy');
    assert.equal(porterStem('skies'), 'sky');
    assert.equal(porterStem('generously'), 'gener');
    assert.equal(porterStem('Running'), 'run');
  });
});

describe('ROUGE (rouge-score rouge_scorer_test.py cases)', () => {
  it('tokenises as rouge-score: lower case, non-alphanumerics split, stems of tokens over 3 letters', () => {
    assert.deepEqual(rougeTokens("The cats' runners ran, quickly!"), ['the', 'cat', 'runner', 'ran', 'quickli']);
    assert.deepEqual(rougeTokens('The cats', false), ['the', 'cats']);
    assert.deepEqual(rougeTokens('  ... /// '), []);
  });

  it('ROUGE-L on the published small cases', () => {
    const consecutive = rougeL('testing one two', 'testing one');
    assert.ok(close(consecutive.precision, 1) && close(consecutive.recall, 2 / 3) && close(consecutive.fmeasure, 4 / 5));
    const gap = rougeL('testing one two', 'testing two');
    assert.ok(close(gap.precision, 1) && close(gap.recall, 2 / 3) && close(gap.fmeasure, 4 / 5));
    assert.deepEqual(rougeL('testing one two', ''), { precision: 0, recall: 0, fmeasure: 0 });
    const r1 = rougeN('testing one two', 'testing', 1);
    assert.ok(close(r1.precision, 1) && close(r1.recall, 1 / 3) && close(r1.fmeasure, 1 / 2));
    const r2 = rougeN('testing one two', 'testing one', 2);
    assert.ok(close(r2.precision, 1) && close(r2.recall, 1 / 2) && close(r2.fmeasure, 2 / 3));
  });

  // rouge/testdata/{target,prediction}.txt lines 1 and 2 of google-research/google-research, with
  // the scores that rouge_scorer_test.py asserts (from ROUGE-1.5.5 runs).
  const targets = [
    "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L",
    "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN",
  ];
  const predictions = [
    "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi",
    "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD",
  ];

  it('ROUGE-L against ROUGE-1.5.5 (no stemming)', () => {
    const a = rougeL(targets[0]!, predictions[0]!, { stem: false });
    assert.ok(close(a.recall, 0.40741) && close(a.precision, 0.6875) && close(a.fmeasure, 0.51163), JSON.stringify(a));
    const b = rougeL(targets[1]!, predictions[1]!, { stem: false });
    assert.ok(close(b.recall, 0.40476) && close(b.precision, 0.65385) && close(b.fmeasure, 0.5), JSON.stringify(b));
  });

  it('ROUGE-1 against ROUGE-1.5.5 with stemming (the stemmer changes the second pair)', () => {
    const a = rougeN(targets[0]!, predictions[0]!, 1);
    assert.ok(close(a.recall, 0.40741) && close(a.precision, 0.6875) && close(a.fmeasure, 0.51163), JSON.stringify(a));
    const b = rougeN(targets[1]!, predictions[1]!, 1);
    assert.ok(close(b.recall, 0.42857) && close(b.precision, 0.69231) && close(b.fmeasure, 0.52941), JSON.stringify(b));
    const plain = rougeN(targets[1]!, predictions[1]!, 1, { stem: false });
    assert.ok(close(plain.recall, 0.40476), JSON.stringify(plain));
  });

  it('ROUGE-L with the stemmer on a hand-computed pair', () => {
    // target: the cat was running quickly -> the cat wa run quickli (5)
    // prediction: cats run quick -> cat run quick (3); LCS = cat run (2): P 2/3, R 2/5, F 0.5
    const s = rougeL('The cat was running quickly.', 'Cats run quick');
    assert.ok(close(s.precision, 2 / 3) && close(s.recall, 2 / 5) && close(s.fmeasure, 0.5), JSON.stringify(s));
  });

  it('LCS length', () => {
    assert.equal(lcsLength(['1', '2', '3', '4', '5'], ['2', '5', '3', '4']), 3);
    assert.equal(lcsLength(['1', '2'], ['8', '9']), 0);
    assert.equal(lcsLength([], ['a']), 0);
  });
});
