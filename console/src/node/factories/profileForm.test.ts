import { describe, expect, it } from "vitest";
import {
  missingForSubmission,
  type ProfileSource,
  profileInput,
  profileValues,
  REGION_PATTERN,
} from "./profileForm";

const factory: ProfileSource = {
  name: "Keqiao Mill",
  location: { address: "1 Loom St", city: null, region: "CN-ZJ", lat: 30.1, lon: null },
  contact: { name: "Chen Li", phone: null, email: "c@mill.example" },
  skills: ["jacquard"],
  products: ["grey fabric"],
  certifications: [{ name: "ISO 9001", issuer: null, validUntil: "2027-06-30" }],
  equipment: [{ type: "air-jet-loom", model: "JAT810", count: 24, parameters: { width_cm: 190 } }],
};

describe("profile form", () => {
  it("round-trips a factory, keeping the equipment's parameters", () => {
    expect(profileInput(profileValues(factory))).toEqual({
      name: "Keqiao Mill",
      location: {
        address: "1 Loom St",
        city: null,
        region: "CN-ZJ",
        lat: 30.1,
        lon: null,
        timeZone: null,
      },
      contact: { name: "Chen Li", phone: null, email: "c@mill.example" },
      skills: ["jacquard"],
      products: ["grey fabric"],
      certifications: [{ name: "ISO 9001", issuer: null, validUntil: "2027-06-30" }],
      equipment: [
        { type: "air-jet-loom", model: "JAT810", count: 24, parameters: { width_cm: 190 } },
      ],
    });
  });

  it("trims, upper-cases the region, drops blank lines and duplicate words", () => {
    const values = {
      ...profileValues(factory),
      name: "  Keqiao Mill ",
      region: "cn-zj ",
      skills: [" jacquard", "jacquard", " "],
      certifications: [{ name: " " }, { name: "GOTS", validUntil: "not a day" }],
      equipment: [
        { type: "loom", model: "", count: 2 },
        { type: "loom", model: "X", count: 2.4 },
      ],
    };
    const input = profileInput(values);
    expect(input.name).toBe("Keqiao Mill");
    expect(input.location?.region).toBe("CN-ZJ");
    expect(input.skills).toEqual(["jacquard"]);
    expect(input.certifications).toEqual([{ name: "GOTS", issuer: null, validUntil: null }]);
    expect(input.equipment).toEqual([{ type: "loom", model: "X", count: 2, parameters: null }]);
  });

  it("says what submitting still needs", () => {
    expect(missingForSubmission(factory)).toEqual([]);
    expect(
      missingForSubmission({
        ...factory,
        location: { address: "1 Loom St" },
        contact: { name: "Chen Li" },
        equipment: [],
        products: [],
      }),
    ).toEqual(["location", "contact", "equipment", "products"]);
  });

  it("takes ISO 3166-2 regions", () => {
    expect(REGION_PATTERN.test("CN-GD")).toBe(true);
    expect(REGION_PATTERN.test("CN")).toBe(false);
    expect(REGION_PATTERN.test("cn-gd")).toBe(false);
  });
});
