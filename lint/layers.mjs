// @ts-check
/**
 * `berth/layers`: every file under src/ belongs to one layer (its folder, by longest prefix in the
 * table that eslint.config.mjs passes in) and imports only from lower layers; some packages are
 * allowed only in named places. Like VS Code's `.eslint-plugin-local/code-layering.ts`: one table
 * says the architecture, and the message names both layers, so the fix is obvious.
 *
 * Layers are 'L<n>' (the server stack, bottom up), 'L<n>+' (a sub-layer just above L<n>, e.g.
 * core/node above pure core) and 'C<n>' (the client stack: it imports lower C layers and the
 * server layers up to `clientBase`, nothing of the daemon). Every import form counts: import and
 * export ... from (types too: a type import couples the folders just the same), import(),
 * require(), `import x = require()` and `typeof import()` in types. Folders named in `entries`
 * are entered from outside only through their index (their public surface).
 */
import { builtinModules } from 'node:module';
import { posix } from 'node:path';

/** @typedef {{ dir: string, layer: string, stack: string, rank: number }} Layer */
/** @typedef {{ from: string, to: string, typeOnly?: boolean, why: string }} Allowance */
/** @typedef {{ name: string, only: string[], why: string }} PackageRule */

/** @param {string} layer @returns {{ stack: string, rank: number }} */
function parseLayer(layer) {
  const m = /^([LC])(\d+)(\+?)$/.exec(layer);
  if (!m) throw new Error(`berth/layers: bad layer ${JSON.stringify(layer)} (want L<n>, L<n>+ or C<n>)`);
  return { stack: m[1], rank: Number(m[2]) + (m[3] ? 0.5 : 0) };
}

/** Does `path` (relative to src/) sit at or under `prefix` ('tasks/helper/' or 'snapshotter/storage.ts')? */
function under(path, prefix) {
  if (prefix.endsWith('/')) return path.startsWith(prefix);
  return path === prefix || path.startsWith(prefix + '/') || path.replace(/\.[cm]?[jt]s$/, '') === prefix.replace(/\.[cm]?[jt]s$/, '');
}

/** 'fs', 'node:fs', 'node:fs/promises' → 'node:fs'; any other bare specifier → its package name. */
function packageOf(spec) {
  const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
  const head = bare.split('/')[0];
  if (spec.startsWith('node:') || builtinModules.includes(head)) return { name: `node:${head}`, builtin: true };
  return { name: spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : head, builtin: false };
}

/** @param {string} pattern @param {string} name */
const packageMatches = (pattern, name) => (pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern);

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'a file imports only from lower layers; restricted packages only where allowed' },
    schema: [{ type: 'object', additionalProperties: true }],
    messages: {
      upward:
        '{{file}} ({{fromLayer}} {{fromDir}}/) imports {{target}} ({{toLayer}} {{toDir}}/): a layer imports only from lower layers (table in eslint.config.mjs).',
      sameLayer:
        '{{file}} ({{fromLayer}} {{fromDir}}/) imports {{target}} ({{toLayer}} {{toDir}}/): folders of one layer do not import each other; move the shared piece down, or add an allowance with its reason.',
      client:
        '{{file}} ({{fromLayer}} {{fromDir}}/) imports {{target}} ({{toLayer}} {{toDir}}/): client/ and cli/ import only lower client layers and {{clientBase}}.',
      noLayer: '{{file}} is in no layer: add its folder to the layer table in eslint.config.mjs.',
      outside: '{{file}} imports {{target}}, outside src/: src/ never imports test/, bench/ or other files of the checkout.',
      pure: '{{file}} is in pure {{fromDir}}/ ({{fromLayer}}): {{pkg}} does I/O; such helpers live in {{io}}.',
      pkg: '{{file}} imports {{pkg}}, allowed only in {{only}} ({{why}}).',
      entry: '{{file}} imports {{target}}: other folders enter {{dir}}/ only through {{dir}}/index ({{why}}).',
    },
  },
  create(context) {
    const opts = context.options[0] ?? {};
    const srcDir = opts.srcDir ?? 'src';
    /** @type {Layer[]} */
    const layers = (opts.layers ?? []).map((/** @type {{dir: string, layer: string}} */ l) => ({ ...l, ...parseLayer(l.layer) }));
    layers.sort((a, b) => b.dir.length - a.dir.length); // longest prefix first
    /** @type {Allowance[]} */ const allow = opts.allow ?? [];
    /** @type {PackageRule[]} */ const packages = opts.packages ?? [];
    /** @type {Record<string, {io: string, builtins: string[]}>} */ const pure = opts.pure ?? {};
    /** @type {Array<{dir: string, why: string}>} */ const entries = opts.entries ?? [];
    const clientBase = opts.clientBase ?? 1;
    const clientBaseDirs = layers
      .filter((l) => l.stack === 'L' && l.rank <= clientBase)
      .sort((a, b) => a.rank - b.rank || a.dir.localeCompare(b.dir))
      .map((l) => `${l.dir}/`)
      .join(', ');

    const rel = posix.normalize(posix.relative(context.cwd, context.filename).split('\\').join('/'));
    if (!rel.startsWith(`${srcDir}/`)) return {};
    const file = rel.slice(srcDir.length + 1);
    /** @param {string} p */
    const layerOf = (p) => layers.find((l) => p === l.dir || p.startsWith(`${l.dir}/`));
    const from = layerOf(file);

    /** @param {import('estree').Node} node @param {string} spec @param {boolean} typeOnly */
    function check(node, spec, typeOnly) {
      const data = { file: `${srcDir}/${file}`, target: spec };
      if (!from) return; // reported once, at Program
      if (!spec.startsWith('.')) {
        const pkg = packageOf(spec);
        const p = pure[from.dir];
        if (p && pkg.builtin && !p.builtins.includes(pkg.name)) {
          return context.report({ node, messageId: 'pure', data: { ...data, pkg: pkg.name, fromDir: from.dir, fromLayer: from.layer, io: p.io } });
        }
        for (const r of packages) {
          if (packageMatches(r.name, pkg.name) && !r.only.some((o) => under(file, o))) {
            const only = r.only.length ? r.only.map((o) => `${srcDir}/${o}`).join(', ') : 'no file under src/';
            return context.report({ node, messageId: 'pkg', data: { ...data, pkg: pkg.name, only, why: r.why } });
          }
        }
        return;
      }
      const resolved = posix.normalize(posix.join(posix.dirname(rel), spec));
      if (!resolved.startsWith(`${srcDir}/`)) {
        if ((opts.outsideAllowed ?? []).includes(resolved)) return;
        return context.report({ node, messageId: 'outside', data: { ...data, target: resolved } });
      }
      const target = resolved.slice(srcDir.length + 1);
      const to = layerOf(target);
      data.target = `${srcDir}/${target}`;
      if (!to) return context.report({ node, messageId: 'noLayer', data: { file: data.target } });
      if (to === from) return;
      const entry = entries.find((e) => under(target, `${e.dir}/`) && !under(file, `${e.dir}/`));
      if (entry && target !== `${entry.dir}/index` && target !== `${entry.dir}/index.ts`) {
        return context.report({ node, messageId: 'entry', data: { ...data, dir: entry.dir, why: entry.why } });
      }
      if (allow.some((a) => under(file, a.from) && under(target, a.to) && (typeOnly || !a.typeOnly))) return;
      const layerData = { ...data, fromLayer: from.layer, fromDir: from.dir, toLayer: to.layer, toDir: to.dir, clientBase: clientBaseDirs };
      if (from.stack === 'C') {
        const ok = to.stack === 'C' ? to.rank < from.rank : to.rank <= clientBase;
        if (!ok) context.report({ node, messageId: 'client', data: layerData });
        return;
      }
      if (to.stack === 'C' || to.rank > from.rank) return context.report({ node, messageId: 'upward', data: layerData });
      if (to.rank === from.rank) context.report({ node, messageId: 'sameLayer', data: layerData });
    }

    /** @param {any} n */
    const literal = (n) => (n && n.type === 'Literal' && typeof n.value === 'string' ? n.value : undefined);
    /** @param {any} node @param {any} source @param {boolean} typeOnly */
    const visit = (node, source, typeOnly) => {
      const spec = literal(source);
      if (spec !== undefined) check(node, spec, typeOnly);
    };
    return {
      /** @param {any} n */
      Program: (n) => !from && context.report({ node: n, messageId: 'noLayer', data: { file: `${srcDir}/${file}` } }),
      /** @param {any} n */
      ImportDeclaration: (n) =>
        visit(n, n.source, n.importKind === 'type' || (n.specifiers.length > 0 && n.specifiers.every((/** @type {any} */ s) => s.importKind === 'type'))),
      /** @param {any} n */
      ExportNamedDeclaration: (n) =>
        n.source &&
        visit(n, n.source, n.exportKind === 'type' || (n.specifiers.length > 0 && n.specifiers.every((/** @type {any} */ s) => s.exportKind === 'type'))),
      /** @param {any} n */
      ExportAllDeclaration: (n) => visit(n, n.source, n.exportKind === 'type'),
      /** @param {any} n */
      ImportExpression: (n) => visit(n, n.source, false),
      /** @param {any} n */
      CallExpression: (n) => n.callee.type === 'Identifier' && n.callee.name === 'require' && n.arguments.length === 1 && visit(n, n.arguments[0], false),
      /** @param {any} n */
      TSImportEqualsDeclaration: (n) =>
        n.moduleReference.type === 'TSExternalModuleReference' && visit(n, n.moduleReference.expression, n.importKind === 'type'),
      /** @param {any} n */
      TSImportType: (n) => visit(n, n.source ?? n.argument?.literal, true),
    };
  },
};

export default { meta: { name: 'berth' }, rules: { layers: rule } };
