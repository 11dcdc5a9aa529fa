import { formatBytes } from '../lib/report.js';

export interface Series {
  name: string;
  color: string;
  points: [containers: number, bytes: number][];
  dashed?: boolean;
}

/** A log-log line chart of stored bytes against container count, as a standalone SVG. */
export function storageChart(title: string, series: Series[]): string {
  const width = 720;
  const height = 420;
  const margin = { left: 90, right: 170, top: 40, bottom: 50 };
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(...all.map(([x]) => x));
  const [minY, maxY] = [Math.min(...all.map(([, y]) => y)), Math.max(...all.map(([, y]) => y))];
  const logMinY = Math.floor(Math.log10(minY));
  const logMaxY = Math.ceil(Math.log10(maxY));
  const x = (value: number) => margin.left + (Math.log10(value) / Math.log10(Math.max(10, maxX))) * (width - margin.left - margin.right);
  const y = (value: number) => height - margin.bottom - ((Math.log10(value) - logMinY) / (logMaxY - logMinY || 1)) * (height - margin.top - margin.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`,
  ];
  for (let power = logMinY; power <= logMaxY; power++) {
    const value = 10 ** power;
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y(value) + 4}" text-anchor="end">${formatBytes(value)}</text>`);
  }
  for (let power = 0; 10 ** power <= maxX; power++) {
    const value = 10 ** power;
    parts.push(`<line x1="${x(value)}" x2="${x(value)}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${x(value)}" y="${height - margin.bottom + 18}" text-anchor="middle">${value}</text>`);
  }
  parts.push(`<text x="${(margin.left + width - margin.right) / 2}" y="${height - 12}" text-anchor="middle">containers</text>`);
  series.forEach((s, index) => {
    const path = s.points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    const legendY = margin.top + 10 + index * 22;
    parts.push(`<line x1="${width - margin.right + 12}" x2="${width - margin.right + 36}" y1="${legendY}" y2="${legendY}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${width - margin.right + 42}" y="${legendY + 4}">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
