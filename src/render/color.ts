import { styleText } from "node:util";

/** The roles text takes in plan output; each has one colour, so that a reader learns them once. */
export type Tone = "create" | "update" | "delete" | "wait" | "gate" | "dim" | "bold";

export type Paint = (tone: Tone, text: string) => string;

type Format = Parameters<typeof styleText>[0];

/** Terraform's colours: green create, yellow update, red delete; cyan for what the run waits at. */
const FORMAT: Record<Tone, Format> = {
  create: "green",
  update: "yellow",
  delete: "red",
  wait: "cyan",
  gate: "cyan",
  dim: "dim",
  bold: "bold",
};

/** No colour: what files, pipes, CI logs and `NO_COLOR` get. */
export const plain: Paint = (_tone, text) => text;

/**
 * ANSI colour from `node:util`'s styleText. `validateStream: false` because the decision is made once, by
 * {@link colorWanted}: Node 20's styleText checks the stream for a string format but not for an array.
 */
export const ansi: Paint = (tone, text) =>
  text === "" ? text : styleText(FORMAT[tone], text, { validateStream: false });

/**
 * Colour only on a terminal, never when `NO_COLOR` is set to anything (https://no-color.org) or the user said
 * `--no-color` (`flag === false`, commander's negated option).
 */
export function colorWanted(
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
  flag = true,
): boolean {
  if (!flag) return false;
  if ((env.NO_COLOR ?? "") !== "") return false;
  return stream.isTTY === true;
}

export function painter(enabled: boolean): Paint {
  return enabled ? ansi : plain;
}
