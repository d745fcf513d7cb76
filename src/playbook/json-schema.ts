import { z } from "zod";
import { playbookSchema } from "./schema.js";

export const PLAYBOOK_SCHEMA_ID = "https://clustershift.dev/schemas/playbook-v1alpha1.json";

/**
 * The JSON Schema of a playbook as a user writes it (defaulted fields optional), for editors
 * (`# yaml-language-server: $schema=...`). Generated from the zod schema so the two cannot drift.
 */
export function playbookJsonSchema(): object {
  const generated = z.toJSONSchema(playbookSchema, { io: "input", target: "draft-2020-12" });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: PLAYBOOK_SCHEMA_ID,
    title: "clustershift Playbook",
    description:
      "A clustershift migration (apiVersion clustershift.dev/v1alpha1, kind Playbook): only spec.source and " +
      "spec.target are required; each other section of spec switches its steps on.",
    ...rest,
  };
}
