/**
 * The layers only point down (issue 12). The import graph of `src-main/` and `src-renderer/` as TypeScript's own
 * pre-processor reads it — static imports, `import type`, `export … from` and `await import(…)` alike — checked
 * against docs/architecture.md:
 *
 *   front ends   cli · serve · electron · preload · index.ts      (no sibling front end, but the listed ones)
 *   api          operations table · call registry · envelope · page files
 *   features     datasets · training · export · backbones · curation · sweeps   (may use each other)
 *   pure         mixup · config                                  (no database)
 *   leaf         core · db
 *
 * and no import cycle between files anywhere. No exceptions are listed: any arrow the wrong way fails the test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..', '..');
const MAIN = join(root, 'src-main');
const RENDERER = join(root, 'src-renderer');

const LAYER: Record<string, number> = {
  core: 0,
  db: 0,
  config: 1,
  mixup: 1,
  datasets: 2,
  training: 2,
  export: 2,
  backbones: 2,
  curation: 2,
  sweeps: 2,
  api: 3,
  cli: 4,
  serve: 4,
  electron: 4,
  preload: 4,
  'index.ts': 4,
  renderer: 5,
};
/** Front ends that may import another: the CLI's `serve` verb starts the server; the app entry and its preload. */
const FRONT_END_ARROWS = new Set(['cli -> serve', 'index.ts -> electron', 'electron -> preload']);
/** The renderer reaches src-main only through these (type-only, or pure and free of Node). */
const RENDERER_MAY_IMPORT = new Set(['api', 'mixup', 'config']);
/** The only src-main modules the renderer may bundle (import for values, not just types): pure and free of Node. */
const RENDERER_RUNTIME = new Set(['src-main/api/envelope.ts', 'src-main/mixup/schedule.ts', 'src-main/config/model-spec.ts']);


function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...sourceFiles(p));
    } else if (/\.(ts|svelte)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The files `file` imports (relative specifiers resolved to a file of the tree; packages left out). */
function importsOf(file: string, known: Set<string>): string[] {
  let text = readFileSync(file, 'utf8');
  if (file.endsWith('.svelte')) text = [...text.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
  const info = ts.preProcessFile(text, true, true);
  const out: string[] = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const hit = resolveSpecifier(file, ref.fileName, known);
    if (hit) out.push(hit);
  }
  return out;
}

/** The file of the tree a relative specifier names, or null (a package, an asset). */
function resolveSpecifier(file: string, spec: string, known: Set<string>): string | null {
  const base = resolve(dirname(file), spec);
  return [base, `${base}.ts`, join(base, 'index.ts')].find((c) => known.has(c)) ?? null;
}

/** The unit a file belongs to: its top folder under src-main (or `index.ts`), or `renderer`. */
function unitOf(file: string): string {
  if (file.startsWith(RENDERER + sep)) return 'renderer';
  const rel = relative(MAIN, file).split(sep);
  return rel.length === 1 ? rel[0]! : rel[0]!;
}

/** The module specifiers `file` imports for values (type-only imports and `export type` left out). */
function runtimeSpecifiersOf(file: string): string[] {
  let text = readFileSync(file, 'utf8');
  if (file.endsWith('.svelte')) text = [...text.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const typeOnly =
        c !== undefined &&
        (c.isTypeOnly ||
          (!c.name && c.namedBindings !== undefined && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly =
        node.isTypeOnly ||
        (node.exportClause !== undefined && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The files of the tree `file` imports for values. */
function runtimeImportsOf(file: string, known: Set<string>): string[] {
  return runtimeSpecifiersOf(file)
    .filter((s) => s.startsWith('.'))
    .map((s) => resolveSpecifier(file, s, known))
    .filter((f): f is string => f !== null);
}

const files = [...sourceFiles(MAIN), ...sourceFiles(RENDERER)];
const known = new Set(files);
const graph = new Map(files.map((f) => [f, importsOf(f, known)]));

function arrows(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [from, tos] of graph) {
    for (const to of tos) {
      const a = unitOf(from);
      const b = unitOf(to);
      if (a === b) continue;
      const key = `${a} -> ${b}`;
      if (!out.has(key)) out.set(key, []);
      out.get(key)!.push(`${relative(root, from)} imports ${relative(root, to)}`);
    }
  }
  return out;
}

function allowed(arrow: string): boolean {
  const [a, b] = arrow.split(' -> ') as [string, string];
  if (a === 'renderer') return RENDERER_MAY_IMPORT.has(b);
  const la = LAYER[a];
  const lb = LAYER[b];
  if (la === undefined || lb === undefined) return false;
  if (la === 4 && lb === 4) return FRONT_END_ARROWS.has(arrow);
  // Pure means no I/O: mixup/ and config/ never reach the database.
  if (la === 1 && b === 'db') return false;
  return lb <= la;
}

describe('the import graph', () => {
  it('has a layer for every folder of src-main', () => {
    const units = new Set(files.filter((f) => f.startsWith(MAIN + sep)).map(unitOf));
    expect([...units].filter((u) => LAYER[u] === undefined)).toEqual([]);
  });

  it('points only down (or sideways within features, pure and leaf), front ends never to a sibling but the listed ones', () => {
    const wrong = [...arrows()].filter(([arrow]) => !allowed(arrow));
    expect(wrong.map(([arrow, why]) => `${arrow}: ${why.slice(0, 3).join('; ')}`)).toEqual([]);
  });


  it('lets the page bundle only the pure modules listed, whose own imports reach no Node module or package', () => {
    const valueImports: string[] = [];
    for (const file of files.filter((f) => f.startsWith(RENDERER + sep))) {
      for (const to of runtimeImportsOf(file, known)) {
        if (to.startsWith(MAIN + sep)) valueImports.push(`${relative(root, file)} -> ${relative(root, to)}`);
      }
    }
    const reached = new Set(valueImports.map((a) => a.split(' -> ')[1]!));
    expect([...reached].filter((f) => !RENDERER_RUNTIME.has(f))).toEqual([]);
    // Everything those modules pull in at run time: no `node:` built-in, no package but zod-free pure code.
    const closure = new Set<string>();
    const stack = [...reached].map((f) => join(root, f));
    const packages: string[] = [];
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (closure.has(f)) continue;
      closure.add(f);
      for (const spec of runtimeSpecifiersOf(f)) if (!spec.startsWith('.')) packages.push(`${relative(root, f)} imports ${spec}`);
      stack.push(...runtimeImportsOf(f, known));
    }
    expect(packages).toEqual([]);
    expect(closure.size).toBeGreaterThan(0);
  });

  it('keeps evaluation off the mixer: export, prediction and metrics reach no mixing code, through any import', () => {
    // Static, `import type`, `export … from` and `await import()` alike, followed transitively.
    const mixing = new Set(['src-main/mixup/mixer.ts', 'src-main/mixup/plan.ts', 'src-main/mixup/pairing.ts', 'src-main/mixup/cutmix.ts'].map((f) => join(root, f)));
    const starts = files.filter((f) => f.startsWith(join(MAIN, 'export') + sep) || f === join(MAIN, 'training', 'metrics.ts'));
    const offenders: string[] = [];
    for (const start of starts) {
      const seen = new Set<string>();
      const stack: { file: string; via: string[] }[] = [{ file: start, via: [] }];
      while (stack.length > 0) {
        const { file, via } = stack.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        if (mixing.has(file)) {
          offenders.push([start, ...via, file].map((f) => relative(root, f)).join(' -> '));
          break;
        }
        for (const to of graph.get(file) ?? []) stack.push({ file: to, via: file === start ? [] : [...via, file] });
      }
    }
    expect(offenders).toEqual([]);
  });

  it('has no import cycle between files', () => {
    // Tarjan's strongly connected components over the file graph.
    let next = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (v: string) => {
      index.set(v, next);
      low.set(v, next++);
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(relative(root, w));
        } while (w !== v);
        if (comp.length > 1) cycles.push(comp.sort());
      }
    };
    for (const f of files) if (!index.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
