// Lists exports of tasks/ and cli/ that nothing uses (tests and benchmarks count as users; an
// export used in its own file counts as used, as it is part of a signature there; a re-export
// through an index.ts barrel is not a use).
// Entry points (tasks/<Task>/index.ts, cli/index.ts) are exempt. Exit code 1 when any is found.
// `--product`: tests and benchmarks do not count as users (lists code only tests call).
import ts from 'typescript';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
const program = ts.createProgram(parsed.fileNames, parsed.options);
const checker = program.getTypeChecker();
const files = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !f.fileName.includes('/node_modules/'));
const rel = (file) => relative(root, file.fileName);
const isProduct = (file) => /^(tasks|cli)\//.test(rel(file)) && !/^tasks\/[^/]+\/index\.ts$|^cli\/index\.ts$/.test(rel(file));

const resolve = (symbol) => (symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
const used = new Set();
const useAllOf = (specifier) => {
  const module = checker.getSymbolAtLocation(specifier);
  if (module) for (const s of checker.getExportsOfModule(module)) used.add(resolve(s));
};

const productOnly = process.argv.includes('--product');
for (const file of files.filter((f) => !productOnly || /^(tasks|cli)\//.test(rel(f)))) {
  const visit = (node) => {
    if (ts.isImportSpecifier(node)) {
      used.add(resolve(checker.getSymbolAtLocation(node.name)));
    } else if (ts.isNamespaceImport(node) || (ts.isImportClause(node) && node.name)) {
      useAllOf(node.parent.moduleSpecifier ?? node.parent.parent.moduleSpecifier);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0]) {
      useAllOf(node.arguments[0]);
    } else if (ts.isExportSpecifier(node)) {
      // A re-export (`export { x } from './y'`, index.ts barrels) is not a use: an import through it is.
      return;
    } else if (ts.isIdentifier(node) && !ts.isImportSpecifier(node.parent)) {
      // A use in the declaring file itself (or through a namespace / dynamic import binding).
      const symbol = checker.getSymbolAtLocation(node);
      if (symbol && node.parent && !isDeclarationName(node)) used.add(resolve(symbol));
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
}

function isDeclarationName(node) {
  const parent = node.parent;
  return (ts.isFunctionDeclaration(parent) || ts.isClassDeclaration(parent) || ts.isInterfaceDeclaration(parent) || ts.isTypeAliasDeclaration(parent)
    || ts.isVariableDeclaration(parent) || ts.isEnumDeclaration(parent)) && parent.name === node;
}

const unused = [];
for (const file of files.filter(isProduct)) {
  const module = checker.getSymbolAtLocation(file);
  if (!module) continue;
  for (const symbol of checker.getExportsOfModule(module)) {
    const target = resolve(symbol);
    const declaration = target.declarations?.[0];
    // Re-exports (index.ts barrels) are judged where they are declared.
    if (!declaration || declaration.getSourceFile() !== file) continue;
    if (!used.has(target)) unused.push(`${rel(file)}: ${symbol.name}`);
  }
}
for (const line of unused.sort()) console.log(line);
if (unused.length > 0) {
  console.error(`${unused.length} unused export(s): remove them, or stop exporting them`);
  process.exit(1);
}
