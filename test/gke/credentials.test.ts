import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createGkeClient } from "../../src/providers/gke/client.js";
import { createHubClient } from "../../src/providers/gke/hub-client.js";
import { useTempDir } from "../support/temp.js";

describe("Google clients without Application Default Credentials", () => {
  const home = useTempDir("adc", "each");
  beforeEach(() => {
    vi.stubEnv("HOME", home());
    vi.stubEnv("CLOUDSDK_CONFIG", home());
    vi.stubEnv("GOOGLE_APPLICATION_CREDENTIALS", "");
    vi.stubEnv("CLUSTERSHIFT_GKE_ENDPOINT", "");
    vi.stubEnv("CLUSTERSHIFT_GKEHUB_ENDPOINT", "");
    // No probe of the GCE metadata server: tests stay on loopback.
    vi.stubEnv("METADATA_SERVER_DETECTION", "none");
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("Given no credentials, When the fleet is read, Then the error says how to sign in", async () => {
    await expect(createHubClient().getFeature("my-project")).rejects.toThrow(
      /read feature projects\/my-project\/locations\/global\/features\/servicemesh failed: no Google credentials .*\n {2}Sign in for Application Default Credentials: gcloud auth application-default login/,
    );
  });

  it("Given no credentials, When a cluster is read, Then the error says how to sign in", async () => {
    const gke = createGkeClient();
    try {
      await expect(
        gke.getCluster({ project: "my-project", location: "us-central1-a", name: "c" }),
      ).rejects.toThrow(
        /read cluster projects\/my-project\/locations\/us-central1-a\/clusters\/c failed: no Google credentials .*\n {2}Sign in/,
      );
    } finally {
      await gke.close();
    }
  });
});
