// The report: a table for people, JSON for CI. Results arrive already scrubbed of tokens.
import type { VerifyReport } from './run';

const MARK = { pass: 'ok', fail: 'FAIL', warn: 'warn', skip: 'skip' } as const;

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + w.length + 1 > width) { lines.push(line); line = w; } else {line = line ? `${line} ${w}` : w;}
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : indent + l)).join('\n');
}

export function renderTable(report: VerifyReport, width = 110): string {
  const hopWidth = Math.min(26, Math.max(...report.results.map((r) => r.hop.length)));
  const out: string[] = [];
  for (const r of report.results) {
    const head = `${MARK[r.status].padEnd(4)}  ${r.hop.padEnd(hopWidth)}  ${r.title}`;
    out.push(head);
    const indent = ' '.repeat(6 + hopWidth + 2);
    const status = r.httpStatus !== undefined || r.code ? ` [${[r.httpStatus, r.code].filter((x) => x !== undefined).join(' ')}]` : '';
    out.push(indent + wrap(`${r.detail}${r.status === 'fail' ? status : ''}`, width - indent.length, indent));
    if (r.hint && (r.status === 'fail' || r.status === 'warn')) out.push(indent + wrap(`hint: ${r.hint}`, width - indent.length, `${indent}      `));
  }
  const c = report.counts;
  out.push('', `${c.pass} passed, ${c.warn} warning(s), ${c.fail} failed, ${c.skip} skipped.`);
  if (report.firstFailure) out.push(`First failing hop: ${report.firstFailure.hop}: ${report.firstFailure.title}.`);
  return `${out.join('\n')}\n`;
}

export function renderJson(report: VerifyReport): string {
  return `${JSON.stringify({
    ok: report.ok,
    counts: report.counts,
    first_failure: report.firstFailure ? { id: report.firstFailure.id, hop: report.firstFailure.hop } : null,
    checks: report.results.map((r) => ({
      id: r.id,
      hop: r.hop,
      title: r.title,
      status: r.status,
      detail: r.detail,
      hint: r.hint ?? null,
      http_status: r.httpStatus ?? null,
      code: r.code ?? null,
      url: r.url ?? null,
      ms: r.ms,
    })),
  }, null, 2)}\n`;
}
