/**
 * DNS names as Route 53 compares them: case-insensitive, absolute (trailing dot), with the octal escapes
 * it uses in API answers (`\052` for `*`) decoded.
 */
export function fqdn(name: string): string {
  const decoded = name.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  const lower = decoded.trim().toLowerCase();
  return lower.endsWith(".") ? lower : `${lower}.`;
}

/** Whether `record` is the zone apex or a name below it: for the playbook validator and the sandbox DNS. */
export function recordInZone(record: string, zone: string): boolean {
  const r = fqdn(record);
  const z = fqdn(zone);
  return z === "." || r === z || r.endsWith(`.${z}`);
}
