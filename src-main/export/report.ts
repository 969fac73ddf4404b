/**
 * `report.html` of an export: one self-contained page (inline CSS and SVG, no script, no network) with the
 * run's metrics, learning curves, confusion matrix, per-class accuracy, MixUp audit summary and config.
 */
import type { RunInfo } from '../training/runs-repository';

export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function fmt(v: unknown, digits = 4): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : String(v);
  return escapeHtml(v);
}

export interface ChartSeries {
  name: string;
  color: string;
  /** [x, y] pairs; y null = no value at that x. */
  points: Array<[number, number | null]>;
}

/** A line chart as inline SVG (axes, ticks, legend); no script. */
export function lineChart(title: string, series: ChartSeries[], opts: { width?: number; height?: number; yMin?: number; yMax?: number } = {}): string {
  const W = opts.width ?? 520;
  const H = opts.height ?? 240;
  const m = { l: 52, r: 12, t: 28, b: 34 };
  const all = series.flatMap((s) => s.points.filter((p): p is [number, number] => p[1] !== null && Number.isFinite(p[1])));
  if (all.length === 0) return `<figure class="chart"><figcaption>${escapeHtml(title)}</figcaption><p class="muted">no data</p></figure>`;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
  let y0 = opts.yMin ?? Math.min(...ys);
  let y1 = opts.yMax ?? Math.max(...ys);
  if (y1 - y0 < 1e-9) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end">${fmt(y, 3)}</text>`);
  }
  const xTicks = Math.min(10, Math.round(x1 - x0));
  for (let i = 0; i <= xTicks; i++) {
    const x = x0 + Math.round(((x1 - x0) * i) / Math.max(1, xTicks));
    parts.push(`<text x="${sx(x).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${x}</text>`);
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 4}" text-anchor="middle">epoch</text>`);
  series.forEach((s, k) => {
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      pen = true;
    }
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const [x, y] of s.points) {
      if (y !== null && Number.isFinite(y)) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${s.color}"><title>${escapeHtml(s.name)} epoch ${x}: ${fmt(y)}</title></circle>`);
    }
    parts.push(`<rect x="${m.l + 8 + k * 120}" y="8" width="12" height="3" fill="${s.color}"/><text x="${m.l + 24 + k * 120}" y="13">${escapeHtml(s.name)}</text>`);
  });
  return `<figure class="chart"><figcaption>${escapeHtml(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">${parts.join('')}</svg></figure>`;
}

function confusionTable(classes: string[], confusion: number[][]): string {
  if (!confusion.length) return '<p class="muted">no confusion matrix recorded</p>';
  const head = classes.map((c) => `<th class="rot"><span>${escapeHtml(c)}</span></th>`).join('');
  const rows = confusion
    .map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      const cells = row
        .map((v, j) => {
          const share = v / total;
          const bg = i === j ? `rgba(34,139,84,${(0.12 + 0.8 * share).toFixed(3)})` : `rgba(200,60,60,${(share * 0.9).toFixed(3)})`;
          return `<td style="background:${bg}" title="${escapeHtml(classes[i] ?? i)} → ${escapeHtml(classes[j] ?? j)}: ${v}">${v}</td>`;
        })
        .join('');
      return `<tr><th>${escapeHtml(classes[i] ?? i)}</th>${cells}</tr>`;
    })
    .join('');
  return `<table class="confusion"><thead><tr><th>true ↓ / predicted →</th>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

interface AuditLike {
  epoch?: number;
  active?: boolean;
  alpha?: number;
  prob?: number;
  mixedSamples?: number;
  samples?: number;
  unmixedSamples?: Record<string, number>;
  pairs?: { a: string; b: string; count: number }[];
  lambdas?: number[];
}

function auditTable(audit: unknown[]): string {
  const rows = (audit.filter((a) => a && typeof a === 'object') as AuditLike[]).map((a, i) => {
    const unmixed = a.unmixedSamples ?? {};
    const pairs = [...(a.pairs ?? [])].sort((p, q) => q.count - p.count).slice(0, 5);
    const lambdas = a.lambdas ?? [];
    const meanLambda = lambdas.length ? lambdas.reduce((s, v) => s + v, 0) / lambdas.length : null;
    return `<tr><td>${a.epoch ?? i}</td><td>${a.active ? 'on' : 'off'}</td><td>${fmt(a.alpha, 3)}</td><td>${fmt(a.prob, 3)}</td><td>${fmt(a.mixedSamples)}</td><td>${Object.entries(unmixed)
      .filter(([, v]) => v)
      .map(([k, v]) => `${escapeHtml(k)}: ${v}`)
      .join(', ') || '0'}</td><td>${fmt(meanLambda, 3)}</td><td class="l">${pairs.map((p) => `${escapeHtml(p.a)}×${escapeHtml(p.b)} (${p.count})`).join(', ')}</td></tr>`;
  });
  if (!rows.length) return '<p class="muted">no MixUp audit recorded</p>';
  return `<table><thead><tr><th>epoch</th><th>MixUp</th><th>α</th><th>prob</th><th>mixed samples</th><th>unmixed (why)</th><th>mean λ</th><th>most mixed pairs</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function policySection(config: unknown): string {
  const pairs = ((config as { policy?: { pairs?: { a: string; b: string; weight: number; note?: string | null }[] } | null })?.policy?.pairs ?? []).filter(
    (p) => p.weight !== 1,
  );
  if (!pairs.length) return '<p>Every class pair could be mixed (no pair policy).</p>';
  return `<table><thead><tr><th>pair</th><th>rule</th><th>note</th></tr></thead><tbody>${pairs
    .map((p) => `<tr><td>${escapeHtml(p.a)} × ${escapeHtml(p.b)}</td><td class="l">${p.weight === 0 ? 'never mixed' : `weight ${fmt(p.weight, 3)}`}</td><td class="l">${escapeHtml(p.note ?? '')}</td></tr>`)
    .join('')}</tbody></table>`;
}

export interface ReportInput {
  run: RunInfo;
  config: unknown;
  preprocessing: unknown;
  exportedAt: string;
  appVersion: string;
  formats: string[];
}

/** The whole report page. */
export function renderReport({ run, config, preprocessing, exportedAt, appVersion, formats }: ReportInput): string {
  const ep = run.epochs;
  const curve = (key: 'trainLoss' | 'valLoss' | 'valAccuracy' | 'ece'): Array<[number, number | null]> => ep.map((e) => [e.epoch, e[key] ?? null]);
  const best = ep.reduce<{ epoch: number; acc: number } | null>(
    (b, e) => (e.valAccuracy !== null && (b === null || e.valAccuracy > b.acc) ? { epoch: e.epoch, acc: e.valAccuracy } : b),
    null,
  );
  const perClass = Object.entries(run.perClassAccuracy ?? {});
  const test = run.test;
  const title = `Run ${run.id} — ${run.datasetName}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)} · MixUp Studio report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#1d232a;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2e8;padding-bottom:4px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #dde2e8;padding:3px 8px;text-align:right}th{background:#f3f5f8}
td:first-child,th:first-child{text-align:left}.muted{color:#6b7785}.charts{display:flex;flex-wrap:wrap;gap:12px}
figure.chart{margin:0;border:1px solid #dde2e8;border-radius:6px;padding:6px}figcaption{font-weight:600;margin:2px 4px}
svg text{font-size:11px;fill:#46505c}svg .grid{stroke:#e6e9ee}
table.confusion td{min-width:28px;text-align:center}th.rot{height:90px;vertical-align:bottom;padding:2px}
th.rot span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
pre{background:#f6f8fa;border:1px solid #dde2e8;padding:10px;overflow:auto;font-size:12px}
.kv td:first-child{font-weight:600}td.l{text-align:left}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="muted">Status ${escapeHtml(run.status)} · backend ${escapeHtml(run.backend ?? '—')} (${escapeHtml(run.device ?? '—')}) · created ${escapeHtml(run.createdAt)} · exported ${escapeHtml(exportedAt)} by MixUp Studio ${escapeHtml(appVersion)} · formats: ${escapeHtml(formats.join(', '))}</p>

<h2>Metrics</h2>
<table class="kv"><tbody>
<tr><td>final validation accuracy</td><td>${fmt(run.metrics.valAccuracy)}</td></tr>
<tr><td>final validation loss</td><td>${fmt(run.metrics.valLoss)}</td></tr>
<tr><td>final ECE</td><td>${fmt(run.metrics.ece)}</td></tr>
<tr><td>best validation accuracy</td><td>${best ? `${fmt(best.acc)} (epoch ${best.epoch})` : '—'}</td></tr>
<tr><td>epochs run / planned</td><td>${ep.length} / ${run.epochsPlanned}</td></tr>
${test ? `<tr><td>test accuracy (${test.count} images)</td><td>${fmt(test.accuracy)}</td></tr><tr><td>test loss</td><td>${fmt(test.loss)}</td></tr><tr><td>test ECE</td><td>${fmt(test.ece)}</td></tr>` : ''}
<tr><td>dataset fingerprint</td><td><code>${escapeHtml(run.datasetFingerprint ?? '—')}</code></td></tr>
</tbody></table>

<h2>Learning curves</h2>
<div class="charts">
${lineChart('Loss', [
  { name: 'train loss', color: '#2f6fdb', points: curve('trainLoss') },
  { name: 'val loss', color: '#e07b00', points: curve('valLoss') },
])}
${lineChart('Validation accuracy', [{ name: 'val accuracy', color: '#1f9d55', points: curve('valAccuracy') }], { yMin: 0, yMax: 1 })}
${lineChart('Expected calibration error', [{ name: 'ECE', color: '#a23bc4', points: curve('ece') }], { yMin: 0 })}
</div>
<table><thead><tr><th>epoch</th><th>train loss</th><th>val loss</th><th>val accuracy</th><th>ECE</th><th>lr</th><th>MixUp</th><th>α</th><th>prob</th><th>seconds</th></tr></thead><tbody>
${ep.map((e) => `<tr><td>${e.epoch}</td><td>${fmt(e.trainLoss)}</td><td>${fmt(e.valLoss)}</td><td>${fmt(e.valAccuracy)}</td><td>${fmt(e.ece)}</td><td>${fmt(e.lr, 6)}</td><td>${e.mixup?.active ? 'on' : 'off'}</td><td>${fmt(e.mixup?.alpha, 3)}</td><td>${fmt(e.mixup?.prob, 3)}</td><td>${fmt(e.seconds, 1)}</td></tr>`).join('\n')}
</tbody></table>

<h2>Confusion matrix (validation, final epoch)</h2>
${confusionTable(run.classes, run.confusion ?? [])}

<h2>Per-class accuracy</h2>
${perClass.length ? `<table><thead><tr><th>class</th><th>accuracy</th></tr></thead><tbody>${perClass.map(([c, v]) => `<tr><td>${escapeHtml(c)}</td><td>${fmt(v)}</td></tr>`).join('')}</tbody></table>` : '<p class="muted">not recorded</p>'}

<h2>Pair policy in force</h2>
${policySection(config)}

<h2>MixUp audit</h2>
${auditTable(run.audit ?? [])}

<h2>Preprocessing</h2>
<p>x = (pixel × scale − mean[c]) / std[c], after resizing to inputSize (fill).</p>
<pre>${escapeHtml(JSON.stringify(preprocessing, null, 2))}</pre>

<h2>Run config (resolved, with the pair-policy snapshot)</h2>
<pre>${escapeHtml(JSON.stringify(config, null, 2))}</pre>
</body></html>
`;
}
