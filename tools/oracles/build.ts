/**
 * Builds the test oracles from the Go module proxy, once, into a cache keyed by what they are built from:
 * a real kube-apiserver and kube-controller-manager (k8s.io/kubernetes), etcd (go.etcd.io/etcd/server/v3) and
 * istioctl plus a routing simulator (istio.io/istio). Nothing of clustershift's product uses them; the tests do.
 *
 * `npm run oracles` runs this file; the test suite's global setup calls `ensureOracles` too, so a fresh
 * machine's `npm test` builds what it needs on the way. `KUBEBUILDER_ASSETS` (the envtest layout: one directory
 * holding kube-apiserver, etcd, and optionally kube-controller-manager) is honoured: what it holds is used as is.
 */
import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** tools/oracles in the checkout, whether this runs from the source (vitest) or from dist/ (npm run oracles). */
const MODULES_DIR = join(repoRoot(import.meta.dirname), "tools", "oracles");

function repoRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, "package.json"))) {
    const parent = resolve(dir, "..");
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

interface OracleModule {
  /** Folder under tools/oracles holding its go.mod. */
  readonly module: string;
  /** Output file name → Go package path. */
  readonly binaries: Record<string, string>;
  /** -ldflags for the link step (versions the binaries report). */
  ldflags?(version: string): string;
  /** The module this oracle's version is read from (its `require` line in go.mod). */
  readonly versionOf: string;
}

const ORACLES: readonly OracleModule[] = [
  {
    module: "kube",
    versionOf: "k8s.io/kubernetes",
    binaries: {
      "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
      "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    },
    ldflags(version) {
      const [major, minor] = version.replace(/^v/, "").split(".");
      const pkg = "k8s.io/component-base/version";
      return [
        `-X ${pkg}.gitVersion=${version}`,
        `-X ${pkg}.gitMajor=${major}`,
        `-X ${pkg}.gitMinor=${minor}`,
        `-X ${pkg}.gitTreeState=clean`,
        "-s -w",
      ].join(" ");
    },
  },
  { module: "etcd", versionOf: "go.etcd.io/etcd/server/v3", binaries: { etcd: "go.etcd.io/etcd/server/v3" } },
  {
    module: "istio",
    versionOf: "istio.io/istio",
    binaries: {
      istioctl: "istio.io/istio/istioctl/cmd/istioctl",
      // Istio's own routing simulation (pilot/pkg/simulation) as a program: see its main.go.
      "istio-route-sim": "clustershift.dev/tools/oracles/istio/cmd/istio-route-sim",
      // istioctl analyze's analyzers over files with their Kubernetes objects, which --use-kube=false drops.
      "istio-analyze-files": "clustershift.dev/tools/oracles/istio/cmd/istio-analyze-files",
    },
    ldflags: () => "-s -w",
  },
];

export interface Oracles {
  /** envtest layout: kube-apiserver, etcd and kube-controller-manager in one directory. */
  readonly assets: string;
  readonly istioctl: string;
  /** Istio's own routing simulation (pilot/pkg/simulation) over a directory of configs; see its main.go. */
  readonly routeSim: string;
  /** istioctl analyze's analyzers over files, Kubernetes objects included; see its main.go. */
  readonly analyzeFiles: string;
  readonly versions: { readonly kubernetes: string; readonly etcd: string; readonly istio: string };
}

export interface EnsureOptions {
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
  /** Where built binaries are kept; `CLUSTERSHIFT_ORACLES_CACHE` or ~/.cache/clustershift/oracles by default. */
  cacheDir?: string;
}

export function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return process.env.CLUSTERSHIFT_ORACLES_CACHE ?? join(xdg, "clustershift", "oracles");
}

/** Builds what is missing (reporting progress), and returns where everything is. */
export async function ensureOracles(options: EnsureOptions = {}): Promise<Oracles> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const root = options.cacheDir ?? cacheRoot();
  const envtest = process.env.KUBEBUILDER_ASSETS;
  const dirs = new Map<string, string>();
  mkdirSync(root, { recursive: true });
  const release = await buildLock(root, log);
  try {
    for (const oracle of ORACLES) {
      const wanted = Object.keys(oracle.binaries);
      if (envtest && wanted.every((name) => existsSync(join(envtest, name)))) {
        dirs.set(oracle.module, envtest);
        continue;
      }
      dirs.set(oracle.module, await buildCached(oracle, root, log));
    }
  } finally {
    release();
  }
  const assets = assemble(
    root,
    ["kube-apiserver", "etcd", "kube-controller-manager"].map((name) => {
      const from = envtest && existsSync(join(envtest, name)) ? envtest : ownerDir(name, dirs);
      return join(from, name);
    }),
  );
  const istioDir = dirs.get("istio") ?? "";
  return {
    assets,
    istioctl: join(istioDir, "istioctl"),
    routeSim: join(istioDir, "istio-route-sim"),
    analyzeFiles: join(istioDir, "istio-analyze-files"),
    versions: {
      kubernetes: binaryVersion(join(assets, "kube-apiserver"), /(v\d+\.\d+\.\d+\S*)/),
      etcd: binaryVersion(join(assets, "etcd"), /etcd Version: (\S+)/),
      istio: requiredVersion("istio"),
    },
  };
}

/**
 * One build at a time per cache (parallel test runs, or `npm run oracles` beside `npm test`): the lock is a
 * directory (mkdir is atomic) holding the builder's pid; a lock whose pid is gone is taken over.
 */
async function buildLock(root: string, log: (line: string) => void): Promise<() => void> {
  const lock = join(root, ".build.lock");
  let waited = 0;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number(readFileSync(join(lock, "pid"), { encoding: "utf8", flag: "a+" }) || 0);
    if (holder && !alive(holder)) {
      renameSync(lock, `${lock}.stale-${process.pid}`);
      rmSync(`${lock}.stale-${process.pid}`, { recursive: true, force: true });
      continue;
    }
    if (waited % 30_000 === 0) log(`oracles: waiting for the build of process ${holder || "(starting)"}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    waited += 1000;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function ownerDir(binary: string, dirs: Map<string, string>): string {
  const oracle = ORACLES.find((o) => binary in o.binaries);
  const dir = oracle && dirs.get(oracle.module);
  if (!dir) throw new Error(`no oracle builds ${binary}`);
  return dir;
}

/** One directory of symlinks in the envtest layout, named by what it points to. */
function assemble(root: string, files: string[]): string {
  const key = createHash("sha256").update(files.join("\n")).digest("hex").slice(0, 12);
  const dir = join(root, `assets-${key}`);
  if (files.every((file) => existsSync(join(dir, file.split("/").pop() ?? "")))) return dir;
  mkdirSync(dir, { recursive: true });
  for (const file of files) {
    const link = join(dir, file.split("/").pop() ?? "");
    rmSync(link, { force: true });
    symlinkSync(file, link);
  }
  return dir;
}

function binaryVersion(binary: string, pattern: RegExp): string {
  const out = execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 30_000 });
  return pattern.exec(out)?.[1] ?? out.trim();
}

function requiredVersion(module: string): string {
  const oracle = ORACLES.find((o) => o.module === module);
  const gomod = readFileSync(join(MODULES_DIR, module, "go.mod"), "utf8");
  const escaped = (oracle?.versionOf ?? "").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(\\S+)`, "m").exec(gomod)?.[1] ?? "unknown";
}

/** The cache key: the Go toolchain, this script's recipe, and every file of the oracle's module. */
function cacheKey(oracle: OracleModule, version: string): string {
  const hash = createHash("sha256");
  hash.update(execFileSync("go", ["version"], { encoding: "utf8" }));
  hash.update(JSON.stringify({ ...oracle, ldflags: oracle.ldflags?.(version) }));
  const dir = join(MODULES_DIR, oracle.module);
  for (const file of walk(dir).sort()) hash.update(file).update(readFileSync(join(dir, file)));
  return hash.digest("hex").slice(0, 16);
}

function walk(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix)).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(join(dir, rel)).isDirectory() ? walk(dir, rel) : [rel];
  });
}

async function buildCached(oracle: OracleModule, root: string, log: (line: string) => void): Promise<string> {
  const version = requiredVersion(oracle.module);
  const out = join(root, `${oracle.module}-${cacheKey(oracle, version)}`);
  const names = Object.keys(oracle.binaries);
  if (names.every((name) => existsSync(join(out, name)))) return out;
  const partial = `${out}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const started = Date.now();
  log(
    `oracles: building ${names.join(", ")} (${oracle.versionOf} ${version}) from the Go module proxy; ` +
      `first time only, cached in ${out}`,
  );
  const cwd = join(MODULES_DIR, oracle.module);
  for (const [name, pkg] of Object.entries(oracle.binaries)) {
    const args = ["build", "-v", "-o", join(partial, name)];
    const ldflags = oracle.ldflags?.(version);
    if (ldflags) args.push(`-ldflags=${ldflags}`);
    await goBuild(args.concat(pkg), cwd, name, log);
  }
  rmSync(out, { recursive: true, force: true });
  renameSync(partial, out);
  pruneOlder(root, oracle.module, out);
  log(`oracles: ${names.join(", ")} built in ${Math.round((Date.now() - started) / 1000)} s`);
  return out;
}

/**
 * Removes this oracle's earlier builds (another version, an older recipe) and partial builds whose builder is
 * gone: each is a few hundred MB. The assets-* directories of symlinks are small and left alone.
 */
function pruneOlder(root: string, module: string, keep: string): void {
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (path === keep || !name.startsWith(`${module}-`)) continue;
    const builder = /\.partial-(\d+)$/.exec(name)?.[1];
    if (builder && alive(Number(builder))) continue;
    rmSync(path, { recursive: true, force: true });
  }
}

/** Runs `go build -v`, printing a progress line every 20 s: packages compiled so far and time elapsed. */
function goBuild(args: string[], cwd: string, name: string, log: (line: string) => void): Promise<void> {
  return new Promise((done, fail) => {
    const started = Date.now();
    let packages = 0;
    let tail = "";
    const child = spawn("go", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      tail = (tail + chunk).slice(-4000);
      packages += chunk.split("\n").filter((line) => /^[\w.-]+(\/[\w.~-]+)*$/.test(line)).length;
    });
    const timer = setInterval(() => {
      const seconds = Math.round((Date.now() - started) / 1000);
      log(`oracles: ${name}: ${packages} packages compiled, ${seconds} s`);
    }, 20_000);
    child.on("error", (error) => {
      clearInterval(timer);
      fail(
        new Error(`oracles: cannot run go (Go 1.26 is needed to build the test oracles): ${error.message}`),
      );
    });
    child.on("exit", (code) => {
      clearInterval(timer);
      if (code === 0) done();
      else fail(new Error(`oracles: go ${args.join(" ")} failed (exit ${code}) in ${cwd}:\n${tail}`));
    });
  });
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename);
if (isMain) {
  ensureOracles().then(
    (oracles) => {
      const { kubernetes, etcd, istio } = oracles.versions;
      process.stdout.write(
        `control plane: kube-apiserver ${kubernetes} (etcd v${etcd}); istio ${istio}\n` +
          `KUBEBUILDER_ASSETS=${oracles.assets}\nistioctl: ${oracles.istioctl}\n`,
      );
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
