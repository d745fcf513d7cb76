import { execFileSync } from "node:child_process";

/** Child-process tests run the built CLI (`dist/`), so build it once before the suite. */
export function setup(): void {
  try {
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "pipe" });
  } catch {
    // Type errors are reported by `npm run typecheck`; tsc still emitted what it could.
  }
}
