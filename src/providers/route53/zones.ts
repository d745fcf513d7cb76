import { RuntimeError } from "../../engine/errors.js";
import { fqdn } from "./names.js";
import type { Zone, ZoneRef } from "./port.js";

/**
 * The one zone of `candidates` named exactly `name`. A public and a private zone may share a name; guessing
 * between them would change the wrong record, so that asks for `dns.zoneId`.
 * `where` names the account or server searched, for the message.
 */
export function selectZone(candidates: readonly Zone[], name: string, where: string): Zone {
  const wanted = fqdn(name);
  const matches = candidates.filter((zone) => fqdn(zone.name) === wanted);
  const [only, ...others] = matches;
  if (!only) {
    throw new RuntimeError(`no hosted zone named ${wanted} in ${where}: check dns.zone, or set dns.zoneId`);
  }
  if (others.length > 0) {
    const list = matches.map((zone) => `${zone.id} ${zone.private ? "private" : "public"}`).join(", ");
    throw new RuntimeError(
      `${wanted} names ${matches.length} hosted zones (${list}): set dns.zoneId to the one to change`,
    );
  }
  return only;
}

/** With both `zone` and `zoneId` set they must agree: a typo in either would otherwise change another zone. */
export function checkZoneName(zone: Zone, ref: ZoneRef): Zone {
  if (ref.zone !== undefined && fqdn(ref.zone) !== fqdn(zone.name)) {
    throw new RuntimeError(
      `dns.zoneId ${zone.id} is the zone ${fqdn(zone.name)}, not dns.zone ${fqdn(ref.zone)}: fix one of them`,
    );
  }
  return zone;
}

/** `dns.zone` or `dns.zoneId` must be set; the schema allows neither, so say which is missing. */
export function zoneRefName(ref: ZoneRef): string {
  if (ref.zone === undefined)
    throw new RuntimeError("dns: set dns.zone (the hosted zone name) or dns.zoneId");
  return ref.zone;
}
