import { checkbox, confirm, input, select } from "@inquirer/prompts";
import { render } from "@inquirer/testing";
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
    expect(await accepted(q.dnsTargetQuestion("A"))).toBe("");
    expect(await accepted(q.recordQuestion("example.com.", "shop.example.com"))).toBe("shop.example.com");
  });

  it("Given an existing file, When overwriting is asked, Then the default is no", async () => {
    const prompt = await render(confirm, q.overwriteQuestion("playbook.yaml"));
    expect(prompt.getScreen()).toBe("? playbook.yaml exists. Overwrite it? (y/N)");
    prompt.events.keypress("enter");
    await expect(prompt.answer).resolves.toBe(false);
  });
});
