import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { analyze, describeMessages, writeManifests, type Suppression } from "../support/istioctl.js";
import { useTempDir } from "../support/temp.js";
import {
  BOOKINFO,
  BOOKINFO_REVIEWS,
  ONLINE_BOUTIQUE,
  WEIGHTS,
  createdSplitAt,
  golden,
  onSource,
  onTarget,
  serviceEntry,
  shiftedAt,
  sourceApp,
  targetVirtualService,
  withPods,
} from "./manifests.js";

/**
 * `istioctl analyze --use-kube=false` over every manifest set clustershift generates, each with the config of the
 * cluster it lands in (the app's Gateway, VirtualServices, DestinationRules, Services and Pods, the ingress
 * gateway), so that every reference resolves as it would live. Zero errors and zero warnings, or a suppression
 * below that says why the message does not apply.
 */

/** Suppressions, each with why. Only for what is not clustershift's doing and cannot be otherwise here. */
const SUPPRESS: readonly Suppression[] = [];

interface ManifestSet {
  name: string;
  cluster: "source" | "target";
  objects: KubeObject[];
}

const appAlone: ManifestSet[] = [ONLINE_BOUTIQUE, BOOKINFO, BOOKINFO_REVIEWS].flatMap((app) => [
  {
    name: `${app.name}'s own config on the source (no clustershift object)`,
    cluster: "source",
    objects: onSource(app, []),
  },
  {
    name: `${app.name} mirrored to the target with the installed ingress gateway`,
    cluster: "target",
    objects: onTarget(app, []),
  },
]);

const goldens: ManifestSet[] = [
  {
    name: "golden expose-target-serviceentry.yaml (Online Boutique)",
    cluster: "source",
    objects: onSource(ONLINE_BOUTIQUE, golden("traffic", "expose-target-serviceentry.yaml")),
  },
  {
    name: "golden serviceentry-dns.yaml (a load balancer with a host name)",
    cluster: "source",
    objects: onSource(ONLINE_BOUTIQUE, golden("traffic", "serviceentry-dns.yaml")),
  },
  ...[10, 50, 100].flatMap((weight) => [
    ...["online-boutique", "sandbox-online-boutique"].map((prefix) => ({
      name: `golden ${prefix}-frontend-ingress-${weight}.yaml with the expose-target ServiceEntry`,
      cluster: "source" as const,
      objects: onSource(ONLINE_BOUTIQUE, [
        ...golden("traffic", `${prefix}-frontend-ingress-${weight}.yaml`),
        ...golden("traffic", "expose-target-serviceentry.yaml"),
      ]),
    })),
    {
      name: `golden sandbox-bookinfo-bookinfo-${weight}.yaml with productpage's ServiceEntry`,
      cluster: "source" as const,
      objects: onSource(BOOKINFO, [
        ...golden("traffic", `sandbox-bookinfo-bookinfo-${weight}.yaml`),
        serviceEntry(BOOKINFO),
      ]),
    },
    {
      name: `golden bookinfo-reviews-${weight}.yaml with reviews' ServiceEntry`,
      cluster: "source" as const,
      objects: onSource(BOOKINFO_REVIEWS, [
        ...golden("traffic", `bookinfo-reviews-${weight}.yaml`),
        serviceEntry(BOOKINFO_REVIEWS),
      ]),
    },
  ]),
  {
    name: "golden sandbox-created-split-100.yaml (no VirtualService of the app on the gateway)",
    cluster: "source",
    objects: onSource(
      ONLINE_BOUTIQUE,
      [
        ...golden("traffic", "sandbox-created-split-100.yaml"),
        ...golden("traffic", "expose-target-serviceentry.yaml"),
      ],
      sourceApp(ONLINE_BOUTIQUE).filter((o) => o.kind !== "VirtualService"),
    ),
  },
  {
    name: "golden expose-target-virtualservice.yaml on the installed target gateway",
    cluster: "target",
    objects: onTarget(ONLINE_BOUTIQUE, golden("traffic", "expose-target-virtualservice.yaml")),
  },
  {
    name: "golden target-virtualservice-hosts.yaml on the installed target gateway",
    cluster: "target",
    objects: onTarget(ONLINE_BOUTIQUE, golden("traffic", "target-virtualservice-hosts.yaml")),
  },
  {
    name: "golden asm-ingress-gateway.yaml (install-ingress-gateway) alone",
    cluster: "target",
    objects: withPods(golden("gke", "asm-ingress-gateway.yaml"), "10.20.0"),
  },
];

const fresh: ManifestSet[] = [
  ...WEIGHTS.flatMap((weight) =>
    [ONLINE_BOUTIQUE, BOOKINFO, BOOKINFO_REVIEWS].map((app) => ({
      name: `${app.name} shifted to weight ${weight} with its ServiceEntry, fresh from the builders`,
      cluster: "source" as const,
      objects: onSource(app, [shiftedAt(app, weight), serviceEntry(app)]),
    })),
  ),
  ...WEIGHTS.map((weight) => ({
    name: `created split VirtualService at weight ${weight} with its ServiceEntry, fresh from the builders`,
    cluster: "source" as const,
    objects: onSource(
      ONLINE_BOUTIQUE,
      [createdSplitAt(ONLINE_BOUTIQUE, weight, ["shop.example.com"]), serviceEntry(ONLINE_BOUTIQUE)],
      sourceApp(ONLINE_BOUTIQUE).filter((o) => o.kind !== "VirtualService"),
    ),
  })),
  ...[ONLINE_BOUTIQUE, BOOKINFO].flatMap((app) =>
    [undefined, ["shop.example.com"]].map((hosts) => ({
      name: `${app.name}'s target VirtualService (hosts ${hosts ? hosts.join(",") : "*"}) on the installed gateway, fresh`,
      cluster: "target" as const,
      objects: onTarget(app, [targetVirtualService(app, hosts)]),
    })),
  ),
];

describe("istioctl analyze --use-kube=false on every generated manifest set", () => {
  const dir = useTempDir("istioctl-offline");

  describe.each([
    ["the app's own config (baseline)", appAlone],
    ["golden files of the step suites", goldens],
    ["fresh renders of the steps' builders at every weight", fresh],
  ] as const)("%s", (_label, sets) => {
    it.each(sets.map((set, index) => ({ ...set, index })))(
      "Given $name on the $cluster, When istioctl analyzes it offline, Then it reports no error and no warning",
      async ({ objects, index, cluster }) => {
        const file = await writeManifests(
          join(dir(), `${_label.replace(/\W+/g, "-")}-${index}.yaml`),
          objects,
        );
        const result = await analyze({ files: [file], suppress: SUPPRESS });
        expect(describeMessages(result.problems), `${result.command} (${cluster})`).toEqual([]);
      },
    );
  });
});
