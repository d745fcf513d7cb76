/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return --
   Answers are read as loosely as a user's script reads JSON: a field that is not there is a difference to report,
   not a type error. */
import { eventually } from "../../support/wait.js";
import {
  collection,
  configMap,
  given,
  item,
  MERGE,
  serviceEntry,
  type Behaviour,
  type KindName,
  type Obj,
} from "../objects.js";
import type { Session, Body } from "../session.js";

interface Page {
  names: string[];
  /** Each item's `data.v` or `spec.hosts[0]`: which version of the object the page shows. */
  versions: unknown[];
  remainingItemCount: unknown;
  continues: boolean;
  resourceVersion: string;
}

async function page(
  s: Session,
  kind: KindName,
  query: string,
): Promise<{ page: Page; token: string | undefined }> {
  const response = await s.send("GET", `${collection(kind, s.ns)}?${query}`);
  const body = response.body as Body;
  if (response.status !== 200)
    throw new Error(`list ${kind} answered ${response.status}: ${JSON.stringify(body)}`);
  const items = (body["items"] ?? []) as Body[];
  const token = (body["metadata"]?.["continue"] as string | undefined) || undefined;
  return {
    token,
    page: {
      names: items.map((i) => String(i["metadata"]["name"])),
      versions: items.map((i) => i["data"]?.["v"] ?? i["spec"]?.["hosts"]?.[0] ?? null),
      remainingItemCount: body["metadata"]?.["remainingItemCount"] ?? null,
      continues: token !== undefined,
      resourceVersion: String(body["metadata"]?.["resourceVersion"]),
    },
  };
}

/**
 * Pages with limit/continue while the collection changes underneath: every page after the first shows the
 * collection as it was at the first (one resourceVersion), as clustershift's paged list reads it.
 */
function snapshot(
  kind: KindName,
  make: (name: string, version: string) => Obj,
  change: (name: string, version: string) => Record<string, unknown>,
): Behaviour {
  return {
    name: `Given seven ${kind}s listed two at a time, When some are added, changed and deleted between pages`,
    async run(s) {
      for (const n of [1, 2, 3, 4, 5, 6, 7]) await given(s, make(`item-${n}`, "v1"));
      const first = await page(s, kind, "limit=2&labelSelector=page%3Dyes");
      await given(s, make("item-0", "v1"));
      await given(s, make("item-8", "v1"));
      await s.send("DELETE", item(kind, s.ns, "item-4"));
      await s.send("PATCH", item(kind, s.ns, "item-5"), { body: change("item-5", "v2"), contentType: MERGE });
      const pages = [first.page];
      let token = first.token;
      while (token !== undefined) {
        const next = await page(
          s,
          kind,
          `limit=2&labelSelector=page%3Dyes&continue=${encodeURIComponent(token)}`,
        );
        pages.push(next.page);
        token = next.token;
      }
      s.record(
        "pages",
        pages.map(({ resourceVersion: _rv, ...rest }) => rest),
      );
      s.record("one resourceVersion", new Set(pages.map((p) => p.resourceVersion)).size === 1);
      const after = await page(s, kind, "labelSelector=page%3Dyes");
      s.record("a fresh list", after.page.names);
    },
  };
}

export const LISTS: Behaviour[] = [
  snapshot(
    "ConfigMap",
    (name, v) => configMap(name, { v }, { labels: { page: "yes" } }),
    (_name, v) => ({ data: { v } }),
  ),
  snapshot(
    "ServiceEntry",
    (name, v) => {
      const object = serviceEntry(name, { hosts: [`${name}-${v}.example.com`] });
      return { ...object, metadata: { ...object.metadata, labels: { page: "yes" } } };
    },
    (name, v) => ({ spec: { hosts: [`${name}-${v}.example.com`] } }),
  ),
  {
    name: "Given a list, When it is read with continue tokens of an unknown version and without a start",
    async run(s) {
      const token = (body: unknown) => Buffer.from(JSON.stringify(body)).toString("base64url");
      const path = `${collection("ConfigMap", s.ns)}?limit=1&continue=`;
      await s.call("unknown version", "GET", path + token({ v: "meta.k8s.io/v9", rv: 5, start: "x" }));
      await s.call("no start", "GET", path + token({ v: "meta.k8s.io/v1", rv: 5 }));
    },
  },
  {
    name: "Given three ConfigMaps, When listed with limit 2 in a namespace, Then the list's metadata",
    async run(s) {
      // The root CA ConfigMap, which the real server's controller adds to every namespace, is among them.
      await eventually(
        async () =>
          (await s.send("GET", item("ConfigMap", s.ns, "kube-root-ca.crt"))).status === 200 || undefined,
        60_000,
      );
      for (const n of [1, 2, 3]) await given(s, configMap(`cm-${n}`));
      await s.call("list", "GET", `${collection("ConfigMap", s.ns)}?limit=2`, {
        view: (b: Body) => ({
          kind: b["kind"],
          apiVersion: b["apiVersion"],
          metadata: b["metadata"],
          items: (b["items"] as Body[]).map((i) => ({
            ...i,
            metadata: { ...i["metadata"], managedFields: undefined },
          })),
        }),
      });
    },
  },
];
