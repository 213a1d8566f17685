// The pieces every self-contained HTML report shares: escaping, tables, the page around the
// content, the SVG figure frame, axis titles and tick steps. No scripts, fonts or links.

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A table with a header row; every cell is escaped. */
export function htmlTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<table>${head}${body}</table>`;
}

/** The two-column table of an experiment's settings. */
export function settingsTable(settings: Readonly<Record<string, string | number>>): string {
  return htmlTable(['setting', 'value'], Object.entries(settings).map(([k, v]) => [k, String(v)]));
}

/** The experiment reports' style sheet; `extra` lines are appended inside it. */
const REPORT_STYLE = [
  'body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }',
  'table { border-collapse: collapse; margin: 1em 0; }',
  'th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; font-size: 14px; }',
  'figure { margin: 1.5em 0; }',
  'figcaption { font-weight: 600; margin-bottom: 0.3em; }',
];

/** A whole report page: the title as <title> and <h1>, then `body` (HTML). */
export function reportDocument(title: string, body: string, extraStyle: readonly string[] = []): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
${[...REPORT_STYLE, ...extraStyle].join('\n')}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

/** An SVG chart of `width` x `height` on white, with its title as the figure's caption. */
export function svgFigure(title: string, width: number, height: number, parts: readonly string[]): string {
  return `<figure><figcaption>${escapeHtml(title)}</figcaption>${svgElement(null, width, height, parts)}</figure>`;
}

/** The SVG element of a chart on white; a `title` becomes its <title> (what a standalone .svg shows as its name). */
export function svgElement(title: string | null, width: number, height: number, parts: readonly string[]): string {
  const caption = title === null ? '' : `<title>${escapeHtml(title)}</title>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="11" role="img">${caption}<rect width="${width}" height="${height}" fill="white"/>${parts.join('')}</svg>`;
}

/** The x-axis title centred under the plot and the y-axis title turned along its left side. */
export function axisTitles(xLabel: string, yLabel: string, plot: { left: number; right: number; top: number; bottom: number }, height: number): string[] {
  return [
    `<text x="${(plot.left + plot.right) / 2}" y="${height - 8}" text-anchor="middle">${escapeHtml(xLabel)}</text>`,
    `<text transform="translate(16 ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(yLabel)}</text>`,
  ];
}

/** A tick step of 1, 2, 5 or 10 times a power of ten giving about `count` steps over `range`. */
export function niceStep(range: number, count: number): number {
  const raw = range / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  return (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude;
}
