import { describe, expect, it } from "vitest";
import { PLAYBOOK_SCHEMA_ID, playbookJsonSchema } from "../../src/playbook/json-schema.js";

interface JsonSchema {
  $schema?: string;
  $id?: string;
  title?: string;
  required?: string[];
  additionalProperties?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
}

const schema = playbookJsonSchema() as JsonSchema;
const spec = schema.properties?.spec;

describe("playbookJsonSchema", () => {
  it("Given the zod schema, When the JSON Schema is generated, Then it matches the pinned file", async () => {
    await expect(JSON.stringify(schema, null, 2) + "\n").toMatchFileSnapshot(
      "__golden__/playbook.schema.json",
    );
  });

  it("Given the generated schema, When inspected, Then it names its dialect, id and title first", () => {
    expect(Object.keys(schema).slice(0, 3)).toEqual(["$schema", "$id", "title"]);
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toBe(PLAYBOOK_SCHEMA_ID);
  });

  it("Given the generated schema, When inspected, Then only source and target are required in spec", () => {
    expect(schema.required).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    expect(spec?.required).toEqual(["source", "target"]);
  });

  it("Given fields with defaults, When inspected, Then an editor does not demand them", () => {
    const traffic = spec?.properties?.traffic;
    expect(traffic?.required).not.toContain("onFailure");
    expect(spec?.properties?.workloads?.required).toEqual(["namespaces"]);
  });

  it("Given strict objects, When inspected, Then unknown fields are refused", () => {
    expect(schema.additionalProperties).toBe(false);
    expect(spec?.additionalProperties).toBe(false);
    expect(spec?.properties?.traffic?.properties?.steps?.items?.additionalProperties).toBe(false);
  });
});
