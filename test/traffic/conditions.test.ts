import { describe, expect, it } from "vitest";
import { evaluateCondition, parseCondition } from "../../src/core/conditions.js";

describe("parseCondition", () => {
  it.each([
    [">= 0.99", { op: ">=", value: 0.99 }],
    ["< 500", { op: "<", value: 500 }],
    ["  <=1e3 ", { op: "<=", value: 1000 }],
    ["!= 0", { op: "!=", value: 0 }],
    ["== -1.5", { op: "==", value: -1.5 }],
    ["> .5", { op: ">", value: 0.5 }],
    ["result >= 0.95", { op: ">=", value: 0.95 }],
    ["result[0] < 0.1", { op: "<", value: 0.1 }],
  ])("Given %j, When parsed, Then it is %j", (text, expected) => {
    expect(parseCondition(text)).toEqual(expected);
  });

  it.each(["", ">=", "0.99", "=> 0.99", "= 1", ">= abc", ">= 0.99 and < 1", "len(result) > 0", ">= NaN"])(
    "Given %j, When parsed, Then it is undefined",
    (text) => {
      expect(parseCondition(text)).toBeUndefined();
    },
  );
});

describe("evaluateCondition", () => {
  it.each([
    [">= 0.99", 0.99, true],
    [">= 0.99", 0.98, false],
    ["< 500", 499, true],
    ["< 500", 500, false],
    ["> 0", Infinity, true],
    ["!= 0", NaN, false],
    [">= 0", NaN, false],
    ["< 1", NaN, false],
  ])("Given %j and %d, When evaluated, Then %s", (text, value, expected) => {
    const condition = parseCondition(text);
    if (!condition) throw new Error(`unparsed ${text}`);
    expect(evaluateCondition(condition, value)).toBe(expected);
  });
});
