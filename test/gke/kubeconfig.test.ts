import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  kubeconfigFile,
  namesOf,
  patchKubeconfig,
  readKubeconfigEntries,
  tokenKubeconfigPatch,
} from "../../src/providers/kubernetes/kubeconfig-file.js";

describe("kubeconfig writer", () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(tmpdir(), "clustershift-kubeconfig-"))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("Given a KUBECONFIG list, When the file is chosen, Then it is the first entry, as kubectl writes new entries there", () => {
    expect(kubeconfigFile(undefined, { KUBECONFIG: `/a/one${path.delimiter}/b/two` })).toBe("/a/one");
    expect(kubeconfigFile(`${path.delimiter}/c/explicit`, { KUBECONFIG: "/a/one" })).toBe("/c/explicit");
    expect(kubeconfigFile(undefined, {})).toBe(path.join(homedir(), ".kube", "config"));
  });

  it("Given no file, When a context is written and its before-image restored, Then the file holds an empty Config with mode 0600", async () => {
    const file = path.join(dir, "nested", "config");
    const patch = tokenKubeconfigPatch("sandbox-t", "https://127.0.0.1:1", "secret", "t");

    const before = await readKubeconfigEntries(file, namesOf(patch));
    await patchKubeconfig(file, patch);
    const written = await readKubeconfigEntries(file, namesOf(patch));
    await patchKubeconfig(file, before);
    await patchKubeconfig(file, before);

    expect(before).toEqual({
      clusters: { "sandbox-t": null },
      users: { "sandbox-t": null },
      contexts: { t: null },
    });
    expect(written).toEqual(patch);
    expect(await readFile(file, "utf8")).toBe(
      "apiVersion: v1\nkind: Config\npreferences: {}\nclusters: []\nusers: []\ncontexts: []\n",
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});
