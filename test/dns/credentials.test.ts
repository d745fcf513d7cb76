import { describe, expect, it } from "vitest";
import { credentialsWithin } from "../../src/providers/route53/client.js";

describe("credentialsWithin", () => {
  it("Given a credential chain that never answers (a hung credential_process), When credentials are asked for, Then it fails after the timeout saying what to check", async () => {
    const hung = credentialsWithin(() => new Promise(() => undefined), 200);

    await expect(hung()).rejects.toThrow(
      "the AWS credential chain gave no credentials within 0.2s (a credential_process or SSO login that does not finish?)",
    );
  });

  it("Given a chain that answers, When credentials are asked for, Then they are passed through", async () => {
    const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" };
    const chain = credentialsWithin(() => Promise.resolve(credentials), 200);

    await expect(chain()).resolves.toBe(credentials);
  });
});
