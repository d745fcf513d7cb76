import { FOREGROUND, ORPHAN, type ClusterApi } from "./api.js";
import { isObject, metadataOf, stringAt, timestamp, type Json, type JsonObject } from "./json.js";
import { resourceKey, type ResourceType } from "./resources.js";
import { ApiError } from "./status.js";
import type { StoreEvent } from "./store.js";

const NAMESPACES = resourceKey("", "namespaces");
const MANAGER = "kube-controller-manager";

interface Ref {
  key: string;
  namespace: string;
  name: string;
}

function refOf(event: StoreEvent): Ref {
  return {
    key: event.key,
    namespace: event.namespace,
    name: stringAt(metadataOf(event.object), "name") ?? "",
  };
}

function id(ref: Ref): string {
  return `${ref.key}\u0000${ref.namespace}\u0000${ref.name}`;
}

function ownerUids(object: JsonObject): string[] {
  const refs = metadataOf(object)["ownerReferences"];
  return Array.isArray(refs)
    ? refs.filter(isObject).flatMap((r) => (typeof r["uid"] === "string" ? [r["uid"]] : []))
    : [];
}

function finalizers(object: JsonObject): string[] {
  const list = metadataOf(object)["finalizers"];
  return Array.isArray(list) ? list.filter((f): f is string => typeof f === "string") : [];
}

function ignoreGone(error: unknown): void {
  // The object went (or changed) since the event: the next event brings the controller back.
  if (error instanceof ApiError && (error.code === 404 || error.code === 409)) return;
  throw error;
}

/**
 * What kube-controller-manager's garbage collector and namespace controller do, on the store's events:
 *
 * - dependents (ownerReferences) of an object that is gone are deleted, unless another owner of theirs remains
 *   (then only the reference to the gone owner is removed); a dependent created with no existing owner is too;
 * - an object deleted in the foreground (`foregroundDeletion` finalizer) has its dependents deleted, and goes once
 *   none that blocks it remains; one deleted as an orphan (`orphan` finalizer) has its dependents' references to
 *   it removed first;
 * - a Terminating namespace has its content deleted (objects with finalizers stay until those are removed, and the
 *   namespace's conditions say what remains), then goes itself.
 *
 * Like the real controllers they act a little after the event, never inside the request that caused it.
 */
export class DeletionControllers {
  /** uid → the object that has it. */
  private readonly byUid = new Map<string, Ref>();
  /** owner uid → dependents. */
  private readonly dependents = new Map<string, Map<string, Ref>>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly api: ClusterApi,
    private readonly delays: { collectMs: number; namespaceMs: number },
  ) {}

  stop(): void {
    this.stopped = true;
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  onEvent(event: StoreEvent): void {
    const ref = refOf(event);
    const uid = stringAt(metadataOf(event.object), "uid");
    const previousOwners = event.previous ? ownerUids(event.previous) : [];
    for (const owner of previousOwners) this.dependents.get(owner)?.delete(id(ref));
    if (event.type === "DELETED") {
      if (uid && this.byUid.get(uid) && id(this.byUid.get(uid) as Ref) === id(ref)) this.byUid.delete(uid);
      for (const owner of ownerUids(event.object)) {
        this.dependents.get(owner)?.delete(id(ref));
        // An owner deleted in the foreground may have been waiting for this one.
        const waiting = this.byUid.get(owner);
        if (waiting) this.later(`finalize/${owner}`, () => this.finalizeOwner(waiting, owner));
      }
      if (uid) this.later(`collect/${uid}`, () => this.collectDependentsOf(uid));
      if (event.key !== NAMESPACES && event.namespace !== "") this.namespaceChanged(event.namespace);
      return;
    }
    if (uid) this.byUid.set(uid, ref);
    const owners = ownerUids(event.object);
    for (const owner of owners) {
      let set = this.dependents.get(owner);
      if (!set) {
        set = new Map();
        this.dependents.set(owner, set);
      }
      set.set(id(ref), ref);
    }
    if (owners.length > 0) this.later(`owners/${id(ref)}`, () => this.checkOwners(ref));
    const deleting = Boolean(metadataOf(event.object)["deletionTimestamp"]);
    const held = finalizers(event.object);
    if (deleting && uid && (held.includes(FOREGROUND) || held.includes(ORPHAN))) {
      this.later(`finalize/${uid}`, () => this.finalizeOwner(ref, uid));
    }
    if (event.key === NAMESPACES && deleting) {
      this.later(`namespace/${ref.name}`, () => this.emptyNamespace(ref.name), this.delays.namespaceMs);
    } else if (event.key !== NAMESPACES && event.namespace !== "" && deleting) {
      this.namespaceChanged(event.namespace);
    }
  }

  private later(key: string, run: () => void, delayMs = this.delays.collectMs): void {
    if (this.stopped || this.pending.has(key)) return;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      if (this.stopped) return;
      try {
        run();
      } catch (error) {
        ignoreGone(error);
      }
    }, delayMs);
    timer.unref();
    this.pending.set(key, timer);
  }

  private type(key: string): ResourceType | undefined {
    const [plural = "", ...group] = key.split(".");
    return this.api.registry.byResource(group.join("."), plural);
  }

  private current(ref: Ref): JsonObject | undefined {
    return this.api.store.get(ref.key, ref.namespace, ref.name);
  }

  private patch(ref: Ref, object: JsonObject, metadata: JsonObject): void {
    const type = this.type(ref.key);
    if (!type) return;
    const rv = stringAt(metadataOf(object), "resourceVersion");
    this.api.patch(
      type,
      ref.namespace,
      ref.name,
      "merge",
      { metadata: { ...metadata, resourceVersion: rv ?? null } },
      {
        version: type.storageVersion,
        fieldManager: MANAGER,
      },
    );
  }

  private deleteObject(ref: Ref): void {
    const type = this.type(ref.key);
    if (!type || !this.current(ref)) return;
    this.api.delete(type, ref.namespace, ref.name, { propagationPolicy: "Background" });
  }

  /** Owners of the dependent that no longer exist (no object has their uid). */
  private absentOwners(object: JsonObject): string[] {
    return ownerUids(object).filter((uid) => !this.byUid.has(uid));
  }

  /** A dependent whose owners are all gone goes too; one with some left loses the references to the gone. */
  private checkOwners(ref: Ref): void {
    const object = this.current(ref);
    if (!object) return;
    const owners = ownerUids(object);
    const absent = this.absentOwners(object);
    if (absent.length === 0) return;
    if (absent.length === owners.length) {
      if (!metadataOf(object)["deletionTimestamp"]) this.deleteObject(ref);
      return;
    }
    const refs = metadataOf(object)["ownerReferences"];
    const kept = Array.isArray(refs)
      ? refs.filter((r) => !(isObject(r) && typeof r["uid"] === "string" && absent.includes(r["uid"])))
      : [];
    this.patch(ref, object, { ownerReferences: kept });
  }

  private collectDependentsOf(uid: string): void {
    for (const dependent of [...(this.dependents.get(uid)?.values() ?? [])]) this.checkOwners(dependent);
    if ((this.dependents.get(uid)?.size ?? 0) === 0) this.dependents.delete(uid);
  }

  /** An owner being deleted in the foreground or as an orphan: deal with its dependents, then let it go. */
  private finalizeOwner(ref: Ref, uid: string): void {
    const object = this.current(ref);
    if (!object || stringAt(metadataOf(object), "uid") !== uid) return;
    const held = finalizers(object);
    const dependents = [...(this.dependents.get(uid)?.values() ?? [])].filter((d) => this.current(d));
    if (held.includes(ORPHAN)) {
      for (const dependent of dependents) {
        const current = this.current(dependent);
        const refs = current ? metadataOf(current)["ownerReferences"] : undefined;
        if (!current || !Array.isArray(refs)) continue;
        const kept = refs.filter((r) => !(isObject(r) && r["uid"] === uid));
        this.patch(dependent, current, { ownerReferences: kept.length > 0 ? kept : null });
      }
      this.patch(ref, object, { finalizers: held.filter((f) => f !== ORPHAN) });
      return;
    }
    if (!held.includes(FOREGROUND)) return;
    for (const dependent of dependents) {
      const current = this.current(dependent);
      if (current && !metadataOf(current)["deletionTimestamp"]) this.deleteObject(dependent);
    }
    const blocking = dependents.filter((d) => {
      const current = this.current(d);
      const refs = current ? metadataOf(current)["ownerReferences"] : undefined;
      return (
        Array.isArray(refs) &&
        refs.some((r) => isObject(r) && r["uid"] === uid && r["blockOwnerDeletion"] === true)
      );
    });
    if (blocking.length > 0) return; // the deletion of each brings this back
    const latest = this.current(ref);
    if (latest) this.patch(ref, latest, { finalizers: finalizers(latest).filter((f) => f !== FOREGROUND) });
  }

  private namespaceChanged(namespace: string): void {
    const found = this.api.store.get(NAMESPACES, "", namespace);
    if (found && metadataOf(found)["deletionTimestamp"]) {
      this.later(`namespace/${namespace}`, () => this.emptyNamespace(namespace));
    }
  }

  /** The namespace controller: delete everything in a Terminating namespace, then the namespace. */
  private emptyNamespace(name: string): void {
    const namespace = this.api.store.get(NAMESPACES, "", name);
    if (!namespace || !metadataOf(namespace)["deletionTimestamp"]) return;
    const remaining = new Map<string, number>();
    const held = new Map<string, number>();
    for (const type of this.api.registry.all()) {
      if (!type.namespaced) continue;
      const key = resourceKey(type.group, type.plural);
      for (const object of this.api.store.list(key, name)) {
        const objectName = stringAt(metadataOf(object), "name") ?? "";
        if (!metadataOf(object)["deletionTimestamp"]) {
          try {
            this.api.delete(type, name, objectName, { propagationPolicy: "Background" });
          } catch (error) {
            ignoreGone(error);
          }
        }
        const still = this.api.store.get(key, name, objectName);
        if (!still) continue;
        remaining.set(key, (remaining.get(key) ?? 0) + 1);
        for (const finalizer of finalizers(still)) held.set(finalizer, (held.get(finalizer) ?? 0) + 1);
      }
    }
    if (remaining.size === 0) {
      this.api.finalizeNamespace(name);
      return;
    }
    this.reportRemaining(namespace, remaining, held);
  }

  private reportRemaining(
    namespace: JsonObject,
    remaining: Map<string, number>,
    held: Map<string, number>,
  ): void {
    const type = this.type(NAMESPACES);
    if (!type) return;
    const now = timestamp();
    const condition = (kind: string, status: boolean, reason: string, message: string): JsonObject => ({
      type: kind,
      status: status ? "True" : "False",
      lastTransitionTime: now,
      reason,
      message,
    });
    const resources = [...remaining]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, n]) => `${key.includes(".") ? key : `${key}.`} has ${n} resource instances`)
      .join(", ");
    const finalizerText = [...held]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([f, n]) => `${f} in ${n} resource instances`)
      .join(", ");
    const conditions: Json[] = [
      condition(
        "NamespaceDeletionDiscoveryFailure",
        false,
        "ResourcesDiscovered",
        "All resources successfully discovered",
      ),
      condition(
        "NamespaceDeletionGroupVersionParsingFailure",
        false,
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
      ),
      condition(
        "NamespaceDeletionContentFailure",
        false,
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
      ),
      condition(
        "NamespaceContentRemaining",
        true,
        "SomeResourcesRemain",
        `Some resources are remaining: ${resources}`,
      ),
      held.size > 0
        ? condition(
            "NamespaceFinalizersRemaining",
            true,
            "SomeFinalizersRemain",
            `Some content in the namespace has finalizers remaining: ${finalizerText}`,
          )
        : condition(
            "NamespaceFinalizersRemaining",
            false,
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
          ),
    ];
    const status = { phase: "Terminating", conditions };
    const current = isObject(namespace["status"]) ? namespace["status"] : {};
    const same = (a: Json | undefined, b: Json): boolean =>
      JSON.stringify(a, (k, v: unknown) => (k === "lastTransitionTime" ? undefined : v)) ===
      JSON.stringify(b, (k, v: unknown) => (k === "lastTransitionTime" ? undefined : v));
    if (same(current["conditions"], conditions)) return;
    this.api.writeStatus(type, namespace, status, MANAGER);
  }
}
