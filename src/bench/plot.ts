// The concurrency sweep as an SVG: throughput and p95 latency against concurrency, one line per system.
export interface SweepPoint {
  concurrency: number;
  customersPerSecond: number;
  p95LatencyMs: number;
}

export interface SweepSeries {
  name: string;
  colour: string;
  points: SweepPoint[];
}

const width = 420;
const height = 300;
const margin = { left: 60, right: 30, top: 40, bottom: 45 };

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
function niceMax(max: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(max, 1)));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= max) ?? 10 * power;
}

/** One panel: `value` of each series against concurrency, on a linear x axis. */
function panel(series: SweepSeries[], value: (p: SweepPoint) => number, title: string, offsetX: number): string {
  const xs = series.flatMap((s) => s.points.map((p) => p.concurrency));
  const xMax = Math.max(...xs);
  const yMax = niceMax(Math.max(...series.flatMap((s) => s.points.map(value))));
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = (c: number): number => offsetX + margin.left + (c / xMax) * plotW;
  const y = (v: number): number => margin.top + plotH - (v / yMax) * plotH;
  const parts: string[] = [
    `<text x="${offsetX + width / 2}" y="22" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(xMax)}" y2="${y(0)}" stroke="#333"/>`,
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(0)}" y2="${y(yMax)}" stroke="#333"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    parts.push(
      `<line x1="${x(0)}" y1="${y(v)}" x2="${x(xMax)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${x(0) - 6}" y="${y(v) + 4}" text-anchor="end">${Number(v.toFixed(1))}</text>`,
    );
  }
  for (const c of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(`<text x="${x(c)}" y="${y(0) + 16}" text-anchor="middle">${c}</text>`);
  }
  parts.push(`<text x="${offsetX + width / 2}" y="${height - 8}" text-anchor="middle">concurrency C</text>`);
  for (const s of series) {
    const points = [...s.points].sort((a, b) => a.concurrency - b.concurrency);
    const path = points.map((p) => `${x(p.concurrency).toFixed(1)},${y(value(p)).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${path}" fill="none" stroke="${s.colour}" stroke-width="2"/>`);
    for (const p of points) {
      parts.push(
        `<circle cx="${x(p.concurrency).toFixed(1)}" cy="${y(value(p)).toFixed(1)}" r="3" fill="${s.colour}"/>`,
      );
    }
  }
  return parts.join('\n');
}

/** The whole figure: throughput on the left, p95 on the right, a legend and a caption line under them. */
export function sweepSvg(series: SweepSeries[], caption: string): string {
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${margin.left + i * 200}" y="${height + 4}" width="12" height="12" fill="${s.colour}"/>` +
        `<text x="${margin.left + i * 200 + 18}" y="${height + 14}">${escapeXml(s.name)}</text>`,
    )
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * width}" height="${height + 45}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(series, (p) => p.customersPerSecond, 'Throughput (customers/s)', 0),
    panel(series, (p) => p.p95LatencyMs, 'p95 latency per customer (ms, wall clock)', width),
    legend,
    `<text x="${margin.left}" y="${height + 36}" fill="#555">${escapeXml(caption)}</text>`,
    `</svg>`,
    '',
  ].join('\n');
}
