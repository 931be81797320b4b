// Tokenizes every .pde file of the repository with the grammar, through the same
// TextMate engine as VS Code (vscode-textmate with vscode-oniguruma), and checks that
// comments, strings, statement keywords, numbers and the Unicode operators get their
// scopes. Prints one `N passed, M failed` line; exits 1 on any failure.
//
//     cd editors/vscode && npm install && npm test
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import vsctm from "vscode-textmate";
import oniguruma from "vscode-oniguruma";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..", "..");
const grammarPath = path.join(here, "..", "syntaxes", "pdenet.tmLanguage.json");

const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
const onigLib = oniguruma.loadWASM(wasm.buffer).then(() => ({
  createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
  createOnigString: (s) => new oniguruma.OnigString(s),
}));
const registry = new vsctm.Registry({
  onigLib,
  loadGrammar: async (scope) =>
    scope === "source.pdenet"
      ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath)
      : null,
});
const grammar = await registry.loadGrammar("source.pdenet");

const DECLARATIONS = ["domain", "field", "param", "const", "let", "def", "layer", "network",
  "train", "sample", "scheme", "shape", "table"];
const CONDITIONS = ["equation", "initial", "boundary", "constraint", "integral", "data",
  "reference", "periodic"];
const OPERATORS = ["∂", "∈", "∫", "Σ", "·", "×", "⊙", "∪", "∩", "≤", "≥", "−"];
// A number not inside a name (λ1) or another number.
const NUMBER = /(?<![\p{L}\p{N}_.])(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?(?![\p{L}\p{N}_.])/gu;

function pdeFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name.endsWith(".out") ? [] : pdeFiles(p);
    return e.name.endsWith(".pde") ? [p] : [];
  });
}

// Where the code of a line ends (its comment starts) and which columns are in strings.
function layout(line) {
  const inString = new Array(line.length).fill(false);
  let open = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') { inString[i] = true; open = !open; continue; }
    if (!open && line[i] === "#") return { code: i, inString };
    inString[i] = open;
  }
  return { code: line.length, inString };
}

let passed = 0;
const failures = [];
function expect(ok, where, what) {
  if (ok) passed++;
  else failures.push(`${where}: ${what}`);
}

const files = ["examples", "stdlib", "tests/run", "tests/gpu"]
  .map((d) => path.join(root, d))
  .filter((d) => fs.existsSync(d))
  .flatMap(pdeFiles);
for (const file of files) {
  let stack = vsctm.INITIAL;
  const lines = fs.readFileSync(file, "utf8").split("\n");
  lines.forEach((line, n) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    const scopeAt = (i) => (r.tokens.find((t) => t.startIndex <= i && i < t.endIndex)?.scopes ?? []).join(" ");
    const where = `${path.relative(root, file)}:${n + 1}`;
    const { code, inString } = layout(line);
    if (code < line.length) {
      expect(scopeAt(code).includes("comment.line"), where, `comment at column ${code + 1}: ${scopeAt(code)}`);
    }
    const first = line.slice(0, code).match(/^\s*([a-z]+)\b/);
    if (first && DECLARATIONS.includes(first[1])) {
      const i = line.indexOf(first[1]);
      expect(scopeAt(i).includes("storage.type"), where, `\`${first[1]}\`: ${scopeAt(i)}`);
    } else if (first && CONDITIONS.includes(first[1]) && !/^\s*[a-z]+\s*\(/.test(line)) {
      const i = line.indexOf(first[1]);
      expect(scopeAt(i).includes("keyword.control"), where, `\`${first[1]}\`: ${scopeAt(i)}`);
    }
    for (const m of line.slice(0, code).matchAll(NUMBER)) {
      if (inString[m.index]) continue;
      expect(scopeAt(m.index).includes("constant.numeric"), where, `number ${m[0]}: ${scopeAt(m.index)}`);
    }
    for (let i = 0; i < code; i++) {
      if (!inString[i] && OPERATORS.includes(line[i])) {
        expect(scopeAt(i).includes("keyword.operator"), where, `operator ${line[i]}: ${scopeAt(i)}`);
      }
      if (line[i] === '"' && !(i > 0 && inString[i - 1])) {
        expect(scopeAt(i).includes("string.quoted"), where, `string at column ${i + 1}: ${scopeAt(i)}`);
      }
    }
  });
}
for (const f of failures.slice(0, 20)) console.log(`FAILED ${f}`);
console.log(`tokenize: ${files.length} files`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length > 0 || passed < 1000 ? 1 : 0);
