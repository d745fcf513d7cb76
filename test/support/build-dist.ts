import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * Compiles the CLI into `dist/` as `tsc -p tsconfig.build.json` does, but writes every file to a temporary name
 * and renames it into place. A CLI test of another vitest process running at the same moment then reads either
 * the old or the new module, never a half-written one (plain tsc truncates and rewrites in place).
 * Type errors are not reported here: `npm run typecheck` does that, and the emit goes ahead regardless.
 */
export function buildDist(root: string): void {
  const configPath = path.join(root, "tsconfig.build.json");
  const config = ts.getParsedCommandLineOfConfigFile(configPath, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
    },
  });
  if (!config) throw new Error(`cannot read ${configPath}`);
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  program.emit(undefined, (fileName, text) => {
    mkdirSync(path.dirname(fileName), { recursive: true });
    const temporary = `${fileName}.${process.pid}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, fileName);
  });
}
