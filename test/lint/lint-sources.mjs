// Lints in-memory sources as if they sat at the given paths of this checkout, with the project's own
// eslint.config.mjs; a separate process because ESLint loads its config with import(), which jest's
// module sandbox does not run. stdin: [{ path, code }]; stdout: [{ path, messages: [{ ruleId, message }] }].
import { ESLint } from 'eslint';
import { text } from 'node:stream/consumers';

const cases = JSON.parse(await text(process.stdin));
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const c of cases) {
  const [r] = await eslint.lintText(c.code, { filePath: c.path });
  out.push({ path: c.path, messages: r.messages.map((m) => ({ ruleId: m.ruleId, message: m.message })) });
}
process.stdout.write(JSON.stringify(out));
