import { checkbox, confirm, input, select } from "@inquirer/prompts";
import { render } from "@inquirer/testing";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { liveWizardDeps } from "../../src/wizard/client.js";
import type { WizardDeps } from "../../src/wizard/deps.js";
import * as q from "../../src/wizard/questions.js";
import { MESSAGES } from "../../src/wizard/validate.js";
import { createZone } from "../dns/moto.js";
import { useWizardWorld } from "./seed.js";

/**
 * Each screen of the wizard, rendered with the exact config the wizard builds from live data: the sandbox
 * seeded with Online Boutique (source) and Google's ASM ingress gateway (target), and moto for Route 53.
 */

const env = useWizardWorld();
let deps: WizardDeps;

beforeAll(() => {
  deps = liveWizardDeps({ kubeconfig: env.world.kubeconfig });
});

/** The server URLs of the contexts are random ports: shown as SERVER. */
function normalized(screen: string): string {
  return screen.replace(/https?:\/\/127\.0\.0\.1:\d+/g, "SERVER");
}

/** Types `typed` into the prompt, submits, and returns the screen with its validation message; then cancels it. */
async function submitted(question: q.InputQuestion, typed: string): Promise<string> {
  const controller = new AbortController();
  const prompt = await render(input, question, { signal: controller.signal });
  prompt.events.type(typed);
  prompt.events.keypress("enter");
  await prompt.nextRender();
  const screen = prompt.getScreen();
  controller.abort();
  await prompt.answer.catch(() => undefined);
  return screen;
}

async function accepted(question: q.InputQuestion, typed = ""): Promise<string> {
  const prompt = await render(input, question);
  prompt.events.type(typed);
  prompt.events.keypress("enter");
  return prompt.answer;
}

describe("cluster screens", () => {
  it("Given the sandbox kubeconfig, When the source is asked, Then its contexts are the choices and the current one is the default", async () => {
    const prompt = await render(select, q.sourceContextQuestion(await deps.contexts()));
    expect(normalized(prompt.getScreen())).toBe(
      [
        "? Source cluster: the kubeconfig context the application runs on now",
        "❯ source",
        "  target",
        "",
        "SERVER",
        "↑↓ navigate • ⏎ select",
      ].join("\n"),
    );
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toBe("source");
  });

  it("Given a sandbox source, When the target is asked, Then the other context, a new GKE cluster and a new sandbox cluster are offered", async () => {
    const contexts = await deps.contexts();
    const prompt = await render(select, q.targetQuestion(contexts, contexts[0]!));
    expect(prompt.getScreen()).toContain(
      ["❯ target", "  Provision a new GKE cluster", "  A new sandbox cluster"].join("\n"),
    );
    prompt.events.keypress("down");
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toEqual({ kind: "gke" });
  });

  it("Given a context that is not the sandbox's, When the target is asked, Then no sandbox cluster is offered", async () => {
    const contexts = await deps.contexts();
    const real = { ...contexts[0]!, server: "https://203.0.113.50", sandbox: false };
    const prompt = await render(select, q.targetQuestion(contexts, real));
    expect(prompt.getScreen()).not.toContain("sandbox cluster");
  });

  it.each([
    ["project", "My_Project", q.gkeProjectQuestion(), MESSAGES.gcpProject],
    ["location", "Iowa", q.gkeLocationQuestion(), MESSAGES.gcpLocation],
    [
      "cluster name",
      "Target",
      q.clusterNameQuestion(["source", "target"], "clustershift-target"),
      MESSAGES.dnsLabel,
    ],
    ["machine type", "big", q.machineTypeQuestion(), MESSAGES.machineType],
    ["node count", "0", q.nodeCountQuestion(), MESSAGES.nodeCount],
  ])(
    "Given the GKE %s screen, When %j is typed, Then it says why it is rejected",
    async (_, typed, question, message) => {
      expect(await submitted(question, typed)).toContain(`> ${message}`);
    },
  );

  it("Given the new cluster's name, When an existing context name is typed, Then it is rejected", async () => {
    const taken = (await deps.contexts()).map((context) => context.name);
    expect(await submitted(q.clusterNameQuestion(taken, "target-2"), "target")).toContain(
      "> kubeconfig context target exists already: choose it from the list instead",
    );
  });

  it("Given the GKE screens, When enter is pressed, Then the defaults are e2-standard-4 and 2 nodes", async () => {
    expect(await accepted(q.machineTypeQuestion())).toBe("e2-standard-4");
    expect(await accepted(q.nodeCountQuestion())).toBe("2");
    expect(await accepted(q.gkeProjectQuestion(), "my-project")).toBe("my-project");
  });
});

describe("workload and traffic screens", () => {
  it("Given the source's live namespaces, When they are offered, Then system namespaces are left out and one must be chosen", async () => {
    const prompt = await render(checkbox, q.namespacesQuestion(await deps.namespaces("source"), "source"));
    expect(prompt.getScreen()).toBe(
      [
        "? Namespaces to mirror from source",
        "❯◯ default",
        " ◯ onlineboutique",
        "",
        "↑↓ navigate • space select • a all • i invert • ⏎ submit",
      ].join("\n"),
    );
    prompt.events.keypress("enter");
    await prompt.nextRender();
    expect(prompt.getScreen()).toContain(`> ${q.NAMESPACES_REQUIRED}`);
    prompt.events.keypress("down");
    prompt.events.keypress("space");
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toEqual(["onlineboutique"]);
  });

  it("Given the source's Services, When the ingress gateway is asked, Then Istio's LoadBalancer with its address is the choice", async () => {
    const prompt = await render(
      select,
      q.ingressServiceQuestion(await deps.ingressServices("source"), "source"),
    );
    expect(prompt.getScreen()).toMatch(
      /^\? Ingress gateway Service on source\n❯ istio-system\/istio-ingressgateway\n\nLoadBalancer 203\.0\.113\.\d+, ports 80, 443\n/,
    );
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toMatchObject({
      namespace: "istio-system",
      name: "istio-ingressgateway",
    });
  });

  it("Given the source's Gateways, When the Gateway is asked, Then the one selecting the ingress pods is the default", async () => {
    const [service] = await deps.ingressServices("source");
    const prompt = await render(select, q.gatewayQuestion(await deps.gateways("source"), service!));
    expect(prompt.getScreen()).toContain(
      "❯ onlineboutique/frontend-gateway\n\nhosts *; runs on this Service's pods",
    );
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toBe("onlineboutique/frontend-gateway");
  });

  it("Given the source's VirtualServices, When the service to split is asked, Then only destinations of those bound to the gateway are offered", async () => {
    const question = q.splitQuestion(await deps.virtualServices("source"), "onlineboutique/frontend-gateway");
    const prompt = await render(select, question);
    // frontend.yaml's VirtualService (mesh-internal, no gateway) routes to frontend too: it is not offered.
    expect(prompt.getScreen()).toBe(
      [
        "? Service to split between the clusters (routes of onlineboutique/frontend-gateway)",
        "❯ frontend.onlineboutique:80",
        "  Another Service",
        "",
        "routed by VirtualService onlineboutique/frontend-ingress (hosts *)",
        "↑↓ navigate • ⏎ select",
      ].join("\n"),
    );
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toEqual({
      kind: "destination",
      destination: { namespace: "onlineboutique", service: "frontend", port: 80 },
      virtualService: "onlineboutique/frontend-ingress",
    });
  });

  it("Given the target's Services, When its ingress is asked, Then the ASM gateway and installing one are offered", async () => {
    const prompt = await render(
      select,
      q.targetIngressQuestion(await deps.ingressServices("target"), "target"),
    );
    expect(prompt.getScreen()).toContain(
      ["❯ asm-ingress/asm-ingressgateway", "  Install one: asm-ingress/asm-ingressgateway"].join("\n"),
    );
    prompt.events.keypress("down");
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toEqual({ kind: "install" });
  });

  it.each([
    ["10;50;100", MESSAGES.weightsFormat],
    ["10,50,150", MESSAGES.weightsRange],
    ["50,10,100", "weights must increase: 10 comes after 50"],
    ["10,50", MESSAGES.weightsLast],
  ])(
    "Given the weights screen, When %j is typed, Then it says why it is rejected",
    async (typed, message) => {
      expect(await submitted(q.weightsQuestion(), typed)).toContain(`> ${message}`);
    },
  );

  it("Given the weights screen, When enter is pressed or a list typed, Then 10,50,100 or the list is the answer", async () => {
    const prompt = await render(input, q.weightsQuestion());
    expect(prompt.getScreen()).toBe(
      "? Weights to shift, in percent to the target (comma-separated, ending in 100) (10,50,100)",
    );
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toBe("10,50,100");
    expect(await accepted(q.weightsQuestion(), "5,25,50,100")).toBe("5,25,50,100");
  });

  it.each([
    ["pause", "2 minutes", q.pauseQuestion(), MESSAGES.duration],
    ["pause", "0m", q.pauseQuestion(), MESSAGES.durationZero],
    ["Prometheus URL", "prometheus:9090", q.prometheusQuestion("frontend"), MESSAGES.url],
    ["remote host", "frontend_target", q.remoteHostQuestion("frontend"), MESSAGES.dnsName],
    ["port", "65536", q.portQuestion(), MESSAGES.port],
    ["gateway", "gateway", q.gatewayRefQuestion("istio-system/istio-ingressgateway"), MESSAGES.gateway],
    ["public hosts", "shop.example.com; www.example.com", q.hostsQuestion([]), MESSAGES.hosts],
    ["probe URL", "203.0.113.20/healthz", q.probeUrlQuestion("", "before going to 100%"), MESSAGES.url],
    ["probe Host header", "shop_example", q.probeHostQuestion(undefined), MESSAGES.hosts],
    ["expected status", "2000", q.expectStatusQuestion(), MESSAGES.httpStatus],
  ])(
    "Given the %s screen, When %j is typed, Then it says why it is rejected",
    async (_, typed, question, message) => {
      expect(await submitted(question, typed)).toContain(`> ${message}`);
    },
  );

  it("Given the gate screens, When enter is pressed, Then a 2m pause, approval before 100 and no Prometheus are the defaults", async () => {
    expect(await accepted(q.pauseQuestion())).toBe("2m");
    expect(await accepted(q.prometheusQuestion("frontend"))).toBe("");
    const approval = await render(confirm, q.approvalQuestion([10, 50, 100]));
    expect(approval.getScreen()).toBe("? Wait for your approval before going to 100%? (Y/n)");
    approval.events.keypress("enter");
    await expect(approval.answer).resolves.toBe(true);
  });
});

describe("hosts, exclusions and failure screens", () => {
  it("Given public hosts found on the gateway's VirtualServices, When the hosts are asked, Then they are the default, and a wildcard may be typed", async () => {
    const prompt = await render(input, q.hostsQuestion(["shop.example.com", "www.example.com"]));
    expect(prompt.getScreen()).toBe(
      "? Public hosts that move to the target, comma-separated (empty: every VirtualService on the gateway, with its own hosts) (shop.example.com, www.example.com)",
    );
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toBe("shop.example.com, www.example.com");
    expect(await accepted(q.hostsQuestion([]), "*.example.com")).toBe("*.example.com");
  });

  it("Given Online Boutique mirrored, When its public Services are listed, Then frontend-external is offered ticked and the ingress gateway (istio-system) is not", async () => {
    const exposed = await deps.exposedServices("source", ["onlineboutique"]);
    expect(exposed.map((service) => `${service.namespace}/${service.name} ${service.type}`)).toEqual([
      "onlineboutique/frontend-external LoadBalancer",
    ]);
    const prompt = await render(checkbox, q.exclusionsQuestion(exposed));
    expect(prompt.getScreen()).toMatch(
      /^\? Leave these public Services out of the mirror\? \(each would be a second public entry point on the target\)\n❯◉ onlineboutique\/frontend-external\n\nLoadBalancer (203\.0\.113\.\d+|\(no address yet\)), ports 80\n/,
    );
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toMatchObject([
      { namespace: "onlineboutique", name: "frontend-external" },
    ]);
  });

  it("Given the probe and failure screens, When enter is pressed, Then the target's address, the public host, 200 and rollback are the defaults", async () => {
    expect(await accepted(q.probeUrlQuestion("http://203.0.113.20/", "before going to 100%"))).toBe(
      "http://203.0.113.20/",
    );
    expect(await accepted(q.probeUrlQuestion("", "after the shift"))).toBe("");
    expect(await accepted(q.probeHostQuestion("shop.example.com"))).toBe("shop.example.com");
    expect(await accepted(q.expectStatusQuestion())).toBe("200");
    const onFailure = await render(select, q.onFailureQuestion());
    expect(onFailure.getScreen()).toBe(
      [
        "? When a gate fails (probe, analysis) or a shift step errs",
        "❯ rollback",
        "  pause",
        "",
        "send all traffic back to the source and undo what was applied",
        "↑↓ navigate • ⏎ select",
      ].join("\n"),
    );
    onFailure.events.keypress("enter");
    await expect(onFailure.answer).resolves.toBe("rollback");
  });
});

describe("DNS and output screens", () => {
  it("Given Route 53 credentials, When the zone is asked, Then the account's hosted zones are the choices", async () => {
    const zone = await createZone(env.moto.sdk, "wizard-shop");
    const prompt = await render(select, q.zoneQuestion(await deps.dnsZones("route53", "source")));
    expect(prompt.getScreen()).toContain(`❯ ${zone.name}`);
    expect(prompt.getScreen()).toContain(`public zone ${zone.id}`);
    expect(prompt.getScreen()).toContain("  Another zone");
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toEqual({
      kind: "zone",
      zone: { id: zone.id, name: zone.name, private: false },
    });
  });

  it("Given the sandbox DNS next to the source, When the zone and record are asked, Then its zones and its A, AAAA and CNAME records are the choices", async () => {
    const zones = await deps.dnsZones("sandbox", "source");
    expect(zones.map((zone) => zone.name)).toEqual(["example.com."]);
    const zonePrompt = await render(select, q.zoneQuestion(zones, "sandbox"));
    expect(zonePrompt.getScreen()).toContain("? Hosted zone (sandbox DNS)\n❯ example.com.\n  Another zone");
    zonePrompt.events.keypress("enter");
    await expect(zonePrompt.answer).resolves.toMatchObject({ kind: "zone", zone: { name: "example.com." } });

    const records = await deps.dnsRecords("sandbox", "source", zones[0]!);
    const prompt = await render(select, q.recordChoiceQuestion(records, "www.example.com"));
    expect(prompt.getScreen()).toBe(
      [
        "? DNS record to cut over",
        "  shop.example.com A",
        "❯ www.example.com CNAME",
        "  Another record",
        "",
        "shop.example.com., TTL 300",
        "↑↓ navigate • ⏎ select",
      ].join("\n"),
    );
    prompt.events.keypress("down");
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toEqual({ kind: "other" });
  });

  it("Given no sandbox DNS on a context, When its zones are asked, Then the reason is given", async () => {
    await expect(deps.dnsZones("sandbox", "no-such-context")).rejects.toThrow(
      /^cannot list the sandbox DNS zones: .*no-such-context/,
    );
  });

  it.each([
    [
      "record",
      "shop.example.org",
      q.recordQuestion("example.com.", undefined),
      "must be inside the zone example.com",
    ],
    ["record", "shop..example.com", q.recordQuestion("example.com.", undefined), MESSAGES.dnsName],
    ["zone", "example..com", q.zoneNameQuestion(), MESSAGES.dnsName],
    ["TTL", "4", q.ttlQuestion(), MESSAGES.ttl],
    ["TTL", "86401", q.ttlQuestion(), MESSAGES.ttl],
    ["A record target", "lb.example.com", q.dnsTargetQuestion("A"), MESSAGES.ipv4],
    ["CNAME target", "203.0.113.7", q.dnsTargetQuestion("CNAME"), MESSAGES.cname],
    ["playbook name", "Frontend To Target", q.nameQuestion("frontend-to-target"), MESSAGES.dnsLabel],
  ])(
    "Given the %s screen, When %j is typed, Then it says why it is rejected",
    async (_, typed, question, message) => {
      expect(await submitted(question, typed)).toContain(`> ${message}`);
    },
  );

  it("Given the DNS screens, When enter is pressed, Then TTL 60, no explicit address and the suggested record are taken", async () => {
    expect(await accepted(q.ttlQuestion())).toBe("60");
    expect(await accepted(q.ttlQuestion(300))).toBe("60");
    // A record already under 60 s keeps its TTL: lowering it to 60 would raise it.
    expect(await accepted(q.ttlQuestion(30))).toBe("30");
    expect(await accepted(q.dnsTargetQuestion("A"))).toBe("");
    expect(await accepted(q.recordQuestion("example.com.", "shop.example.com"))).toBe("shop.example.com");
  });

  it("Given Route 53 records, When they are listed, Then only simple A, AAAA and CNAME record sets are offered", async () => {
    const zone = await createZone(env.moto.sdk, "wizard-records", (name) => [
      { Name: `shop.${name}`, Type: "A", TTL: 60, ResourceRecords: [{ Value: "203.0.113.10" }] },
      { Name: `shop.${name}`, Type: "AAAA", TTL: 60, ResourceRecords: [{ Value: "2001:db8::10" }] },
      {
        Name: `eu.${name}`,
        Type: "A",
        TTL: 60,
        SetIdentifier: "eu",
        Weight: 10,
        ResourceRecords: [{ Value: "203.0.113.11" }],
      },
      { Name: `mail.${name}`, Type: "MX", TTL: 60, ResourceRecords: [{ Value: "10 mx.example.net." }] },
    ]);
    const records = await deps.dnsRecords("route53", "source", { ...zone, private: false });
    expect(records.map((record) => `${record.name} ${record.type} ${record.values.join(",")}`)).toEqual([
      `shop.${zone.name} A 203.0.113.10`,
      `shop.${zone.name} AAAA 2001:db8::10`,
    ]);
  });

  it("Given an existing file, When overwriting is asked, Then the default is no", async () => {
    const prompt = await render(confirm, q.overwriteQuestion("playbook.yaml"));
    expect(prompt.getScreen()).toBe("? playbook.yaml exists. Overwrite it? (y/N)");
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toBe(false);
  });
});

describe("without a kubeconfig", () => {
  it("Given KUBECONFIG naming no file, When the contexts are read, Then it says so and how to get one, instead of a made-up context", async () => {
    const missing = liveWizardDeps({ kubeconfig: "/nonexistent/kubeconfig" });
    await expect(missing.contexts()).rejects.toThrow(
      /^no kubeconfig: KUBECONFIG=\/nonexistent\/kubeconfig: no such file\..*\n.*gcloud container clusters get-credentials.*\n.*\n {2}clustershift sandbox --seed online-boutique --kubeconfig sandbox\.kubeconfig\n/,
    );
  });

  it("Given no KUBECONFIG and no ~/.kube/config, When the contexts are read, Then it says so instead of offering loaded-context", async () => {
    const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG };
    process.env.HOME = env.world.dir;
    delete process.env.KUBECONFIG;
    try {
      await expect(liveWizardDeps().contexts()).rejects.toThrow(
        `no kubeconfig: KUBECONFIG is not set and ${env.world.dir}/.kube/config does not exist.`,
      );
    } finally {
      Object.assign(process.env, saved);
      if (saved.KUBECONFIG === undefined) delete process.env.KUBECONFIG;
    }
  });

  it("Given a kubeconfig without contexts, When the contexts are read, Then it says so and how to get one", async () => {
    const file = join(env.world.dir, "empty.kubeconfig");
    await writeFile(file, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n");
    await expect(liveWizardDeps({ kubeconfig: file }).contexts()).rejects.toThrow(
      `no kubeconfig: ${file} has no contexts.`,
    );
  });
});
