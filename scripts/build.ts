/**
 * `npm run build`: the compiled JavaScript the production processes run (scripts/processes.ts), so
 * they load no TypeScript loader at run time. `node --import tsx` keeps esbuild's service alive in
 * every process (a worker thread plus an esbuild child process): about 30 MiB per process
 * (docs/scaling.md, "Memory").
 *
 * Each TypeScript file reachable from the entry points (the sources of the commands in
 * scripts/processes.ts, the workflow bundler and the workflows) is transpiled on its own with
 * TypeScript's `transpileModule` (`isolatedModules` is on, so a file needs no other file to be
 * compiled) into `<out>/<same path>.js`, CommonJS as tsx runs it. The files the code reads at run
 * time next to itself (`__dirname`: SQL migrations, views, alert templates, the OpenAPI document,
 * public assets, the password list) are copied with the same layout. Type checking stays with
 * `npm run typecheck`.
 *
 * A few files are bundled instead (`BUNDLED_SOURCES`): esbuild compiles each with the npm package it
 * imports, from that package's ES modules, and drops what the file does not import. For an SDK whose
 * CommonJS entry loads all of it (Cloudflare's: 1,166 modules for the three resources CertFleet calls),
 * that is what keeps the rest out of the worker's memory (docs/scaling.md, "Memory").
 *
 *   npm run build                 # → dist/
 *   tsx scripts/build.ts <out>
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import ts from 'typescript';
import { COMPILED_DIR, PROCESS_COMMANDS, sourceOfCompiled } from './processes';

/** The folders of the product; tests, benchmarks and docs are never compiled. */
export const PRODUCT_FOLDERS = ['activities', 'config', 'scripts', 'temporal', 'web', 'worker', 'workflows'] as const;

/** Entry points besides the process commands: the bundler (its workflowsPath) and the workflows it bundles. */
const EXTRA_ENTRY_POINTS = ['worker/build-workflow-bundle.ts', 'workflows/index.ts'];

const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  isolatedModules: true,
  removeComments: false,
};

/**
 * Sources compiled as one bundle with the npm modules they import (tree-shaken), each replacing its
 * transpiled file. Such a file imports npm packages only, never another file of ours: that would
 * put a second copy of our module in the process (checked when bundling).
 */
export const BUNDLED_SOURCES: readonly string[] = ['activities/dns-providers/cloudflare/sdk.ts'];

/** Every TypeScript source the process commands load, following relative imports from the entry points. */
export async function reachableSources(root: string): Promise<string[]> {
  const entries = [
    ...Object.values(PROCESS_COMMANDS).map((command) => sourceOfCompiled(command.at(-1) ?? '')),
    ...EXTRA_ENTRY_POINTS,
  ];
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop() ?? '';
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(path.join(root, file), 'utf8');
    for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolveRelative(root, path.dirname(file), fileName);
      if (!target) throw new Error(`build: ${file} imports ${fileName}, which is no TypeScript file`);
      queue.push(target);
    }
  }
  return [...seen].sort();
}

function resolveRelative(root: string, fromDir: string, specifier: string): string | undefined {
  const base = path.join(fromDir, specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    if (candidate.endsWith('.ts') && existsSync(path.join(root, candidate))) return candidate;
  }
  return undefined;
}

/** Every file of the product folders, relative to `root`, sorted. */
export async function productFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const folder of PRODUCT_FOLDERS) {
    const entries = await readdir(path.join(root, folder), { withFileTypes: true, recursive: true });
    for (const entry of entries)
      if (entry.isFile()) found.push(path.relative(root, path.join(entry.parentPath, entry.name)));
  }
  return found.sort();
}

/** Files read at run time next to the code: everything in the product folders that is not TypeScript. */
async function assets(root: string): Promise<string[]> {
  return (await productFiles(root)).filter((file) => !file.endsWith('.ts'));
}

export interface BuildResult {
  compiled: string[];
  copied: string[];
}

/** Writes the compiled tree of `root` into `outDir` (the product folders there are replaced). */
export async function buildDist(root: string, outDir: string): Promise<BuildResult> {
  const [compiled, copied] = await Promise.all([reachableSources(root), assets(root)]);
  for (const folder of PRODUCT_FOLDERS) await rm(path.join(outDir, folder), { recursive: true, force: true });
  for (const file of compiled) {
    const source = await readFile(path.join(root, file), 'utf8');
    const { outputText, diagnostics } = ts.transpileModule(source, {
      compilerOptions: COMPILER_OPTIONS,
      fileName: file,
      reportDiagnostics: true,
    });
    const errors = (diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length > 0)
      throw new Error(`build: ${file}: ${ts.flattenDiagnosticMessageText(errors[0]?.messageText, '\n')}`);
    const out = path.join(outDir, file.replace(/\.ts$/, '.js'));
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, outputText);
  }
  for (const file of BUNDLED_SOURCES.filter((f) => compiled.includes(f))) await bundleSource(root, file, outDir);
  for (const file of copied) {
    const out = path.join(outDir, file);
    await mkdir(path.dirname(out), { recursive: true });
    await copyFile(path.join(root, file), out);
  }
  return { compiled, copied };
}

/** Writes `<outDir>/<file>.js` as one CommonJS bundle of `file` and the ES modules it imports. */
async function bundleSource(root: string, file: string, outDir: string): Promise<void> {
  const { metafile } = await build({
    entryPoints: [path.join(root, file)],
    outfile: path.join(outDir, file.replace(/\.ts$/, '.js')),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: root,
  });
  const ours = Object.keys(metafile.inputs).filter((input) => input !== file && !input.startsWith('node_modules/'));
  if (ours.length > 0)
    throw new Error(`build: ${file} is bundled, so it may import npm packages only: ${ours.join(', ')}`);
}

if (require.main === module) {
  const root = path.join(__dirname, '..');
  const out = path.resolve(process.argv[2] ?? path.join(root, COMPILED_DIR));
  const started = Date.now();
  buildDist(root, out).then(
    ({ compiled, copied }) =>
      console.log(
        `build: ${compiled.length} modules compiled, ${copied.length} files copied into ${out} in ${Date.now() - started} ms`,
      ),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
