import { beforeAll } from "vitest";

/**
 * Registers a first hook that fails the enclosing tests, saying how to get `name`, when it is missing. Tests
 * that need a real peer (kubectl, tmux, Prometheus) fail rather than skip: a skipped integration test hides a
 * missing feature. `.ci/run` installs what Debian packages; kubectl ships with these machines.
 */
export function requireTool(name: string, found: boolean, howToGet: string): void {
  beforeAll(() => {
    if (!found) throw new Error(`${name} is needed by these tests and was not found: ${howToGet}`);
  });
}
