"""moto_server with Route 53's change-batch semantics, for the DNS tests (test/dns/moto.ts starts it).

moto 5.2.1 departs from Route 53 in ChangeResourceRecordSets in two ways that matter to clustershift, whose every
DNS write is one batch that DELETEs the record sets it read and CREATEs the new ones (the DELETE is its
compare-and-swap):
- a DELETE is accepted when any earlier CREATE or UPSERT in the zone's history had the same name, type, TTL and
  values, not when the live set has them: a DELETE of values changed since is carried out (Route 53 refuses it:
  "Tried to delete resource record set [...] but the values provided do not match the current values");
- a CREATE identical to an earlier one is refused while the set exists before the batch, even when the batch
  DELETEs it first (Route 53 applies a batch's changes in order: DELETE then CREATE is how its documentation
  changes a record).
Route 53 validates the whole batch against the live sets, in order, and applies all of it or none. This does
that, then applies the changes with moto's own zone methods; everything else is moto as it is.
"""

import re
import sys

from moto.route53.exceptions import DnsNameInvalidForZone, Route53ClientError
from moto.route53.models import Route53Backend
from moto.route53.utils import validate_domain_name
from moto.server import main


def _name(name):
    name = (name or "").lower()
    return name if name.endswith(".") else name + "."


def _alias(alias):
    if not alias:
        return None
    return (
        alias.get("HostedZoneId"),
        _name(alias.get("DNSName")),
        str(alias.get("EvaluateTargetHealth")).lower(),
    )


def _image(name, type_, ttl, values, set_id, weight, region, health, alias, failover, geo, multi):
    """What Route 53 compares a DELETE with: every field, values in any order, TTL not for an alias."""
    return (
        _name(name),
        type_,
        None if alias else str(ttl),
        tuple(sorted(values)),
        set_id,
        None if weight is None else str(weight),
        region,
        health,
        _alias(alias),
        failover,
        repr(geo),
        None if multi is None else str(multi).lower(),
    )


def _from_request(rrs):
    values = [v["Value"] if isinstance(v, dict) else v for v in rrs.get("ResourceRecords") or []]
    return _image(
        rrs.get("Name"),
        rrs.get("Type"),
        rrs.get("TTL"),
        values,
        rrs.get("SetIdentifier"),
        rrs.get("Weight"),
        rrs.get("Region"),
        rrs.get("HealthCheckId"),
        rrs.get("AliasTarget"),
        rrs.get("Failover"),
        rrs.get("GeoLocation"),
        rrs.get("MultiValueAnswer"),
    )


def _from_live(rs):
    return _image(
        rs.name,
        rs.type,
        rs.ttl,
        rs.records or [],
        rs.set_identifier,
        rs.weight,
        rs.region,
        rs.health_check_id,
        rs.alias_target,
        rs.failover,
        rs.geo_location,
        rs.multi_value_answer,
    )


def _key(image):
    return (image[0], image[1], image[4])


def _said(rrs):
    said = f"[name='{_name(rrs.get('Name'))}', type='{rrs.get('Type')}'"
    if rrs.get("SetIdentifier") is not None:
        said += f", set-identifier='{rrs['SetIdentifier']}'"
    return said + "]"


_moto_change = Route53Backend.change_resource_record_sets


def change_resource_record_sets(self, zoneid, change_list):
    zone = self.get_hosted_zone(zoneid)
    live = {}
    for rs in zone.rrsets:
        image = _from_live(rs)
        live[_key(image)] = image
    problems = []
    for change in change_list:
        action = change["Action"]
        rrs = change["ResourceRecordSet"]
        validate_domain_name(rrs["Name"], code="InvalidChangeBatch")
        if not rrs["Name"].strip(".").endswith(zone.name.strip(".")):
            raise DnsNameInvalidForZone(name=rrs["Name"], zone_name=zone.name)
        image = _from_request(rrs)
        key = _key(image)
        if action == "DELETE":
            if key not in live:
                problems.append(f"Tried to delete resource record set {_said(rrs)} but it was not found")
            elif live[key] != image:
                problems.append(
                    f"Tried to delete resource record set {_said(rrs)} but the values provided do not match "
                    "the current values"
                )
            live.pop(key, None)
        elif action == "CREATE":
            if key in live:
                problems.append(f"Tried to create resource record set {_said(rrs)} but it already exists")
            live[key] = image
        elif action == "UPSERT":
            live[key] = image
    if problems:
        raise Route53ClientError("InvalidChangeBatch", "[" + ", ".join(problems) + "]")
    if any(change["Action"] not in ("CREATE", "UPSERT", "DELETE") for change in change_list):
        return _moto_change(self, zoneid, change_list)
    # Valid as a whole: apply in order, each change on its own set (moto's own checks are the ones above).
    for change in change_list:
        original = {**change, "ResourceRecordSet": dict(change["ResourceRecordSet"])}
        rrs = dict(change["ResourceRecordSet"])
        if not rrs["Name"].endswith("."):
            rrs["Name"] += "."
        key = _key(_from_request(rrs))
        if change["Action"] == "DELETE":
            zone.rrsets = [rs for rs in zone.rrsets if _key(_from_live(rs)) != key]
        else:
            if "ResourceRecords" in rrs:
                rrs["ResourceRecords"] = [v["Value"] if isinstance(v, dict) else v for v in rrs["ResourceRecords"]]
            if change["Action"] == "CREATE":
                zone.add_rrset(rrs)
            else:
                zone.upsert_rrset(rrs)
        zone.rr_changes.append(original)


Route53Backend.change_resource_record_sets = change_resource_record_sets

if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(main())
