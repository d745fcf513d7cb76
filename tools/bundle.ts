/**
 * Bundles the compiled CLI (`dist/src/cli/main.js`) into `dist/bin/`: the entry, plus one chunk per module that
 * the CLI imports only when a command needs it (the cloud SDKs, the engine). Node's ES module loader costs about
 * half a millisecond per file, and the Kubernetes client alone is some 800 files: bundled, `plan` spends about half
 * the CPU time it does on the file tree.
 *
 * Google's client libraries stay outside the bundle, loaded from node_modules: google-gax finds its protos next
 * to its own files. Every output file is written to a temporary name and renamed into place, so that a test of
 * another vitest process never runs a half-written file (see test/support/build-dist.ts).
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const EXTERNAL = ["@google-cloud/*", "google-gax", "google-auth-library", "gcp-metadata", "@grpc/*"];

export async function bundleCli(root: string): Promise<void> {
  const result = await build({
    entryPoints: [join(root, "dist/src/cli/main.js")],
    outdir: join(root, "dist/bin"),
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    // CommonJS modules inside the bundle (the AWS SDK, the Kubernetes client's dependencies) call require().
    banner: {
      js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
    },
    chunkNames: "chunks/[name]-[hash]",
    logLevel: "warning",
    write: false,
  });
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleCli(resolve(dirname(fileURLToPath(import.meta.url)), "../.."));
}
