import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  let out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(tsFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('evaluation never passes through the mixer (structural)', () => {
  it('export, prediction and metrics code import nothing of the mixing engine', () => {
    const files = [
      ...tsFiles(join(root, 'src-main', 'export')),
      join(root, 'src-main', 'training', 'metrics.ts'),
    ];
    const offenders = files.filter((f) => {
      let text = '';
      try {
        text = readFileSync(f, 'utf8');
      } catch {
        return false;
      }
      return /from\s+['"][^'"]*mixup\/(mixer|plan)['"]/.test(text);
    });
    expect(offenders.map((f) => relative(root, f))).toEqual([]);
  });

  it("the training loop's evaluate() takes no mixer argument", () => {
    let text = '';
    try {
      text = readFileSync(join(root, 'src-main', 'training', 'loop.ts'), 'utf8');
    } catch {
      return; // the loop is not written yet: nothing to check
    }
    const m = /export\s+(?:async\s+)?function\s+evaluate\s*\(([^)]*)\)/.exec(text);
    expect(m, 'loop.ts exports evaluate()').not.toBeNull();
    expect(m![1]).not.toMatch(/mix/i);
  });
});
