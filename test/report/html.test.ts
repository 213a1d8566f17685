import assert from 'node:assert/strict';
import { test } from 'node:test';

import { axisTitles, escapeHtml, htmlTable, niceStep, reportDocument, settingsTable, svgFigure } from '../../src/report/html.js';

test('escapeHtml escapes the five markup characters and nothing else', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a> ρ ≤ 1`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt; ρ ≤ 1');
  assert.equal(escapeHtml('&amp;'), '&amp;amp;');
});

test('htmlTable and settingsTable escape every cell', () => {
  assert.equal(htmlTable(['a<b', 'c'], [['1', 'x&y'], ['2', '']]), '<table><tr><th>a&lt;b</th><th>c</th></tr><tr><td>1</td><td>x&amp;y</td></tr><tr><td>2</td><td></td></tr></table>');
  assert.equal(settingsTable({ corpus: 'a"b', tokens: 1000 }), '<table><tr><th>setting</th><th>value</th></tr><tr><td>corpus</td><td>a&quot;b</td></tr><tr><td>tokens</td><td>1000</td></tr></table>');
});

test('reportDocument: escaped title in <title> and <h1>, the shared style plus extra lines, the body as given', () => {
  const page = reportDocument('A & B', '<p>body</p>', ['.x { margin: 0; }']);
  assert.ok(page.startsWith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>A &amp; B</title>\n<style>\nbody {'));
  assert.ok(page.includes('figcaption { font-weight: 600; margin-bottom: 0.3em; }\n.x { margin: 0; }\n</style>'));
  assert.ok(page.endsWith('<h1>A &amp; B</h1>\n<p>body</p>\n</body>\n</html>\n'));
  assert.ok(!reportDocument('t', '').includes('.x'));
});

test('svgFigure and axisTitles: the frame, the caption and the axis titles placed from the plot box', () => {
  const figure = svgFigure('loss < 3', 100, 50, ['<line/>', '<circle/>']);
  assert.equal(figure, '<figure><figcaption>loss &lt; 3</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 50" width="100" height="50" font-family="sans-serif" font-size="11" role="img"><rect width="100" height="50" fill="white"/><line/><circle/></svg></figure>');
  const [x, y] = axisTitles('FLOPs', 'loss & more', { left: 10, right: 90, top: 4, bottom: 40 }, 50);
  assert.equal(x, '<text x="50" y="42" text-anchor="middle">FLOPs</text>');
  assert.equal(y, '<text transform="translate(16 22) rotate(-90)" text-anchor="middle">loss &amp; more</text>');
});

test('niceStep: 1, 2, 5 or 10 times a power of ten near range / count', () => {
  assert.equal(niceStep(10, 10), 1);
  assert.equal(niceStep(1, 6), 0.2);
  assert.equal(niceStep(12, 6), 2);
  assert.equal(niceStep(30, 6), 5);
  assert.equal(niceStep(70, 10), 10);
  assert.ok(Math.abs(niceStep(0.0036, 6) - 0.001) < 1e-15);
});
