import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RuntimeError } from "../../src/engine/errors.js";
import { Route53Dns } from "../../src/providers/route53/client.js";
import { closeServer, listenOnLoopback } from "../support/net.js";
import { tempDir } from "../support/temp.js";

const NS = "https://route53.amazonaws.com/doc/2013-04-01/";

/** Route 53's REST-XML wire format for the few answers these tests need. */
const xml = {
  error: (code: string, message: string) =>
    `<?xml version="1.0"?><ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r1</RequestId></ErrorResponse>`,
  insync: (id: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><GetChangeResponse xmlns="${NS}"><ChangeInfo><Id>/change/${id}</Id><Status>INSYNC</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></GetChangeResponse>`,
};

/** Each request gets the next scripted answer; the last one repeats. */
let script: { status: number; body: string }[] = [];
let requests: string[] = [];
let server: Server;
let endpoint: string;
const saved = { ...process.env };

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const answer = script.length > 1 ? script.shift() : script[0];
    res.writeHead(answer?.status ?? 500, { "content-type": "text/xml" });
    res.end(answer?.body ?? "");
  });
  endpoint = `http://127.0.0.1:${await listenOnLoopback(server)}`;
});

afterEach(() => {
  process.env = { ...saved };
  requests = [];
});

afterAll(() => closeServer(server));

const credentials = () => {
  process.env.AWS_ACCESS_KEY_ID = "test";
  process.env.AWS_SECRET_ACCESS_KEY = "test";
};

describe("Route 53 errors on the wire", () => {
  it("Given Route 53 throttles twice (Throttling, then PriorRequestNotComplete), when polling a change, then the SDK's retry strategy backs off and the call succeeds", async () => {
    credentials();
    script = [
      { status: 400, body: xml.error("Throttling", "Rate exceeded") },
      {
        status: 400,
        body: xml.error(
          "PriorRequestNotComplete",
          "The request was rejected because Route 53 was still processing a prior request.",
        ),
      },
      { status: 200, body: xml.insync("C1") },
    ];
    await new Route53Dns({ endpoint, pollIntervalMs: 10 }).waitForChange(
      { id: "C1", status: "PENDING" },
      { onProgress: () => undefined },
    );
    expect(requests).toEqual([
      "GET /2013-04-01/change/C1",
      "GET /2013-04-01/change/C1",
      "GET /2013-04-01/change/C1",
    ]);
  });

  it("Given Route 53 keeps throttling, when the attempts run out, then the error says so and what to do", async () => {
    credentials();
    script = [{ status: 400, body: xml.error("Throttling", "Rate exceeded") }];
    const wait = new Route53Dns({ endpoint, maxAttempts: 1, pollIntervalMs: 10 }).waitForChange(
      { id: "C1", status: "PENDING" },
      { onProgress: () => undefined },
    );
    await expect(wait).rejects.toThrow(RuntimeError);
    await expect(wait).rejects.toThrow(
      "reading DNS change C1: Route 53 still throttled the call after 1 attempts (Throttling). Another tool may be changing the account's DNS",
    );
    expect(requests).toHaveLength(1);
  });

  it("Given an AWS profile without Route 53 rights, when a zone is looked up, then the error names the profile and the permissions", async () => {
    // With AWS_PROFILE set the SDK's chain reads the profile, not the AWS_ACCESS_KEY_ID variables.
    const dir = await tempDir("aws");
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "credentials");
    process.env.AWS_CONFIG_FILE = join(dir, "config");
    await writeFile(
      process.env.AWS_SHARED_CREDENTIALS_FILE,
      "[migrations]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n",
    );
    await writeFile(process.env.AWS_CONFIG_FILE, "");
    process.env.AWS_PROFILE = "migrations";
    script = [
      {
        status: 403,
        body: xml.error(
          "AccessDenied",
          "User: arn:aws:iam::1:user/x is not authorized to perform: route53:ListHostedZonesByName",
        ),
      },
    ];
    const find = new Route53Dns({ endpoint }).findZone({ zone: "example.com" });
    await expect(find).rejects.toThrow(
      /^looking up hosted zone example\.com\.: Route 53 refused the AWS profile migrations \(AccessDenied: User: .*\)\. It needs route53:ListHostedZonesByName, GetHostedZone/,
    );
  });

  it("Given no AWS credentials anywhere, when a zone is looked up, then the error says how to provide them and nothing is sent", async () => {
    for (const key of [
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "AWS_PROFILE",
      "AWS_WEB_IDENTITY_TOKEN_FILE",
    ]) {
      delete process.env[key];
    }
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    process.env.AWS_CONFIG_FILE = "/nonexistent/aws-config";
    process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/aws-credentials";
    const find = new Route53Dns({ endpoint }).findZone({ zone: "example.com" });
    await expect(find).rejects.toThrow(
      /^looking up hosted zone example\.com\.: no AWS credentials \(.*\)\. Set AWS_PROFILE/,
    );
    expect(requests).toEqual([]);
  });
});
