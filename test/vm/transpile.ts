/**
 * The guest runs the chosen test files as JavaScript: ts-jest compiling them under software
 * emulation took ~50 s for one file. This transpiles (no type check; `npm run typecheck` does that)
 * the files and everything they import relatively into `out`, laid out like the repository, and
 * links the rest (node_modules, native, dist, proto, package.json) back to it, so code that finds
 * the package root from __dirname finds these.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

const LINKED = ['node_modules', 'native', 'dist', 'proto', 'package.json'];

function resolveTs(fromFile: string, spec: string): string | undefined {
  const base = resolve(dirname(fromFile), spec);
  for (const c of [`${base}.ts`, join(base, 'index.ts'), base]) if (existsSync(c) && c.endsWith('.ts')) return c;
  return undefined; // a .js/.json file or a package: loaded from the repository by its link
}

/** Returns how many files were written. */
export function transpileTests(repo: string, entries: string[], out: string): number {
  const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, isolatedModules: true };
  const done = new Set<string>();
  const queue = entries.map((e) => resolve(repo, e));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const js = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: options, fileName: file }).outputText;
    for (const m of js.matchAll(/require\(["'](\.{1,2}\/[^"']*)["']\)/g)) {
      const dep = resolveTs(file, m[1]!);
      if (dep !== undefined) queue.push(dep);
    }
    const target = join(out, relative(repo, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  for (const l of LINKED) if (!existsSync(join(out, l))) symlinkSync(join(repo, l), join(out, l));
  return done.size;
}
