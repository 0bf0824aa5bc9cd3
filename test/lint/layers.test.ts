/**
 * The layer rule (lint/layers.mjs with the table in eslint.config.mjs), run by the real ESLint on
 * sources placed at paths of this tree: each back-reference the layering issue named before the
 * layout commit is reported again if it comes back, and what the layers allow stays clean.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

interface Result {
  path: string;
  messages: Array<{ ruleId: string | null; message: string }>;
}

let results: Map<string, Result['messages']>;

const CASES: Record<string, string> = {
  // client/ and cli/ never reach into the daemon's layers.
  'src/client/uses-services.ts': "import { contentService } from '../services/content';\nexport const x = contentService;\n",
  'src/cli/uses-metadata.ts': "const { MetadataDB } = require('../metadata/db');\nexport const x = MetadataDB;\n",
  'src/client/uses-transport.ts':
    "import type { H2Channel } from '../transport';\nimport { service } from '../api';\nexport type X = H2Channel;\nexport const y = service;\n",
  'src/cli/uses-client.ts': "import { ContentIngest } from '../client/content-ingest';\nexport const x = ContentIngest;\n",
  // The back-references, as they were at 15e9d74.
  'src/events/types.ts': "import type { AnyValue } from '../services/grpc/proto';\nexport type X = AnyValue;\n",
  'src/diff/staging-observer.ts': "import type { ContentObserver } from '../metadata/content';\nexport type X = ContentObserver;\n",
  'src/tasks/task-manager.ts': "import type { Container } from '../metadata/containers';\nexport type X = Container;\n",
  'src/core/node-io.ts': "import { writeFileSync } from 'node:fs';\nexport const x = writeFileSync;\n",
  'src/core/stderr-sink.ts': 'export const sink = (l: string) => process.stderr.write(l);\n',
  // Allowed: downward, core/node's I/O, node:crypto in pure core, same folder.
  'src/metadata/uses-content.ts':
    "import type { ContentStore } from '../content/types';\nimport { LocalContentStore } from '../content/local-store';\nexport type X = ContentStore;\nexport const y = LocalContentStore;\n",
  'src/core/node/io.ts':
    "import { writeFileSync } from 'node:fs';\nimport { invalidArgument } from '../errors';\nexport const x = [writeFileSync, invalidArgument];\n",
  'src/core/hash.ts': "import { createHash } from 'node:crypto';\nexport const x = createHash;\n",
  'src/tasks/spec/uses-helper.ts': "import { NAMESPACE_TYPES } from '../helper/plan';\nexport const x = NAMESPACE_TYPES;\n",
  // Upward and sideways, in every import form.
  'src/content/uses-metadata.ts': "export const load = () => import('../metadata/content');\n",
  'src/content/uses-events.ts': "export * from '../events/types';\n",
  'src/core/uses-api.ts': "export type X = typeof import('../api/proto');\n",
  'src/core/uses-core-node.ts': "import { fsyncDir } from './node/files';\nexport const x = fsyncDir;\n",
  // One layer, two folders: not even a type crosses.
  'src/api/type-from-transport.ts': "import type { MethodDef } from '../transport';\nexport type X = MethodDef;\n",
  // transport/ is entered through its index only.
  'src/services/uses-transport-internals.ts': "import type { ServerCall } from '../transport/grpc/call';\nexport type X = ServerCall;\n",
  'src/services/uses-transport.ts': "import type { ServerCall } from '../transport';\nexport type X = ServerCall;\n",
  // Restricted packages.
  'src/services/uses-level.ts': "import { Level } from 'level';\nexport const x = Level;\n",
  'src/metadata/uses-level.ts': "import { Level } from 'level';\nexport const x = Level;\n",
  'src/content/spawns.ts': "import { spawn } from 'child_process';\nexport const x = spawn;\n",
  'src/daemon/uses-grpc.ts': "import * as grpc from '@grpc/grpc-js';\nexport const x = grpc;\n",
  // Places the table does not know, and the rest of the checkout.
  'src/gadgets/thing.ts': 'export const x = 1;\n',
  'src/services/uses-test.ts': "import { startDaemon } from '../../test/helpers/daemon';\nexport const x = startDaemon;\n",
};

beforeAll(() => {
  const input = JSON.stringify(Object.entries(CASES).map(([path, code]) => ({ path, code })));
  const out = execFileSync(process.execPath, [join(ROOT, 'test/lint/lint-sources.mjs')], { cwd: ROOT, input, encoding: 'utf8', timeout: 60_000 });
  results = new Map((JSON.parse(out) as Result[]).map((r) => [r.path, r.messages]));
}, 60_000);

/** The messages of the layer rule (and pure core's process ban) for one case. */
function layering(path: string): string[] {
  const m = results.get(path);
  if (!m) throw new Error(`no lint result for ${path}`);
  return m.filter((x) => x.ruleId === 'berth/layers' || x.ruleId === 'no-restricted-globals').map((x) => x.message);
}

describe('the layer rule', () => {
  it('fails a client/ file that imports services/, and a cli/ file that requires metadata/', () => {
    expect(layering('src/client/uses-services.ts')).toEqual([
      expect.stringMatching(/src\/client\/uses-services\.ts \(C1 client\/\) imports src\/services\/content \(L6 services\/\): client\/ and cli\//),
    ]);
    expect(layering('src/cli/uses-metadata.ts')).toEqual([expect.stringMatching(/\(C2 cli\/\) imports src\/metadata\/db \(L3 metadata\/\)/)]);
  });

  it('lets the client stack use transport/, api/ and lower client layers', () => {
    expect(layering('src/client/uses-transport.ts')).toEqual([]);
    expect(layering('src/cli/uses-client.ts')).toEqual([]);
  });

  it('reports each back-reference the layering issue named', () => {
    expect(layering('src/events/types.ts')).toEqual([
      expect.stringMatching(/\(L2 events\/\) imports src\/services\/grpc\/proto \(L6 services\/\): a layer imports only from lower layers/),
    ]);
    expect(layering('src/diff/staging-observer.ts')).toEqual([
      expect.stringMatching(/\(L3 diff\/\) imports src\/metadata\/content \(L3 metadata\/\): folders of one layer do not import each other/),
    ]);
    expect(layering('src/tasks/task-manager.ts')).toEqual([expect.stringMatching(/\(L3 tasks\/\) imports src\/metadata\/containers \(L3 metadata\/\)/)]);
    expect(layering('src/core/node-io.ts')).toEqual([
      expect.stringMatching(/is in pure core\/ \(L0\): node:fs does I\/O; such helpers live in src\/core\/node\//),
    ]);
    expect(layering('src/core/stderr-sink.ts')).toEqual([expect.stringMatching(/core\/ is pure/)]);
  });

  it('allows downward imports, core/node I/O, hashing in core and a folder’s own sub-folders', () => {
    for (const p of ['src/metadata/uses-content.ts', 'src/core/node/io.ts', 'src/core/hash.ts', 'src/tasks/spec/uses-helper.ts'])
      expect([p, layering(p)]).toEqual([p, []]);
  });

  it('sees dynamic imports, re-exports, import types and pure core importing its I/O sub-layer', () => {
    expect(layering('src/content/uses-metadata.ts')).toEqual([expect.stringMatching(/\(L2 content\/\) imports src\/metadata\/content \(L3 metadata\/\)/)]);
    expect(layering('src/content/uses-events.ts')).toEqual([
      expect.stringMatching(/\(L2 content\/\) imports src\/events\/types \(L2 events\/\): folders of one layer/),
    ]);
    expect(layering('src/core/uses-api.ts')).toEqual([expect.stringMatching(/\(L0 core\/\) imports src\/api\/proto \(L1 api\/\)/)]);
    expect(layering('src/core/uses-core-node.ts')).toEqual([expect.stringMatching(/\(L0 core\/\) imports src\/core\/node\/files \(L0\+ core\/node\/\)/)]);
  });

  it('keeps the folders of one layer apart, types included', () => {
    expect(layering('src/api/type-from-transport.ts')).toEqual([
      expect.stringMatching(/\(L1 api\/\) imports src\/transport \(L1 transport\/\): folders of one layer/),
    ]);
  });

  it('lets other folders into transport/ only through its index', () => {
    expect(layering('src/services/uses-transport-internals.ts')).toEqual([
      expect.stringMatching(/imports src\/transport\/grpc\/call: other folders enter transport\/ only through transport\/index/),
    ]);
    expect(layering('src/services/uses-transport.ts')).toEqual([]);
  });

  it('keeps level, child_process and grpc-js to their places', () => {
    expect(layering('src/services/uses-level.ts')).toEqual([
      expect.stringMatching(/imports level, allowed only in src\/metadata\/, src\/snapshotter\/storage\.ts/),
    ]);
    expect(layering('src/metadata/uses-level.ts')).toEqual([]);
    expect(layering('src/content/spawns.ts')).toEqual([expect.stringMatching(/imports node:child_process, allowed only in src\/tasks\/helper\//)]);
    expect(layering('src/daemon/uses-grpc.ts')).toEqual([expect.stringMatching(/imports @grpc\/grpc-js, allowed only in/)]);
  });

  it('rejects folders outside the table and imports from test/', () => {
    expect(layering('src/gadgets/thing.ts')).toEqual([expect.stringMatching(/src\/gadgets\/thing\.ts is in no layer/)]);
    expect(layering('src/services/uses-test.ts')).toEqual([expect.stringMatching(/imports test\/helpers\/daemon, outside src\//)]);
  });
});
