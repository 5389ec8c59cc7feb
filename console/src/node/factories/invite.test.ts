import { describe, expect, it } from "vitest";
import { inviteInput, SLUG_PATTERN } from "./invite";

describe("inviteInput", () => {
  it("trims and leaves blanks out", () => {
    expect(
      inviteInput({
        slug: " keqiao-03 ",
        name: " Keqiao Mill ",
        organizationId: " ",
        contactName: "",
      }),
    ).toEqual({ slug: "keqiao-03", name: "Keqiao Mill", organizationId: null });
  });

  it("sends a contact when any part of it is given", () => {
    expect(
      inviteInput({ slug: "m", name: "M", contactName: "Chen Li", contactEmail: "c@m.example" }),
    ).toEqual({
      slug: "m",
      name: "M",
      organizationId: null,
      contact: { name: "Chen Li", phone: null, email: "c@m.example" },
    });
  });
});

describe("SLUG_PATTERN", () => {
  it("takes the node's slugs only", () => {
    for (const good of ["a", "keqiao-weaving-03", "9x"]) expect(SLUG_PATTERN.test(good)).toBe(true);
    for (const bad of ["", "-a", "a-", "Keqiao", "a_b", "a".repeat(64)]) {
      expect(SLUG_PATTERN.test(bad)).toBe(false);
    }
  });
});
