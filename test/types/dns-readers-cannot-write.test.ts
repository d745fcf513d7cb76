import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";

const FILE = resolve(ROOT, "test/types/dns-readers-cannot-write.ts");
const MARKER = "// @ts-expect-error";

/** The file's diagnostics as `line: TScode`, compiled with the project's options and `text` in place of it. */
function diagnostics(text: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    resolve(ROOT, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    },
  );
  if (!config) throw new Error("tsconfig.json could not be read");
  const host = ts.createCompilerHost(config.options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    resolve(name) === FILE ? ts.createSourceFile(name, text, language) : read(name, language, ...rest);
  const program = ts.createProgram([FILE], { ...config.options, noEmit: true }, host);
  const source = program.getSourceFile(FILE);
  return ts.getPreEmitDiagnostics(program, source).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    return `${line}: TS${d.code}`;
  });
}

describe("DNS plans cannot write, by type", () => {
  it("Given a step whose plan, verify and gate change DNS record sets through dnsProvider(ctx) or dnsPortFor(target, ctx), When compiled without the @ts-expect-error markers, Then each write (and only a write) is an error: the DNS reader has no callable changeRecordSets", () => {
    const text = readFileSync(FILE, "utf8");
    const lines = text.split("\n");
    // The line after each marker is a write; the markers are blanked out, so the line numbers stay.
    const writes = lines.flatMap((line, index) => (line.trim().startsWith(MARKER) ? [index + 2] : []));
    expect(writes.length).toBe(4);
    const unmarked = lines.map((line) => (line.trim().startsWith(MARKER) ? "" : line)).join("\n");

    // TS2349: "This expression is not callable. Type 'never' has no call signatures."
    expect(diagnostics(unmarked)).toEqual(writes.map((line) => `${line}: TS2349`));
    // With the markers the file compiles: `npm run typecheck` (tsconfig.json includes test/) checks that.
  }, 120_000);
});
