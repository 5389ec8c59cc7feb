import { describe, expect, it } from "vitest";
import {
  disabledFilter,
  lines,
  oneOf,
  ROLES,
  redirectUriProblem,
  textParam,
  withParams,
} from "./people";

describe("people filters in the address", () => {
  it("reads only known values", () => {
    const params = new URLSearchParams("role=ADMIN&kind=nope&q=%20li%20");
    expect(oneOf(params, "role", ROLES)).toBe("ADMIN");
    expect(oneOf(params, "kind", ["FACTORY"] as const)).toBeNull();
    expect(textParam(params, "q")).toBe("li");
    expect(textParam(params, "missing")).toBeNull();
  });

  it("sets and removes parameters, keeping the others", () => {
    const params = new URLSearchParams("q=li&role=ADMIN");
    expect(withParams(params, { role: null, status: "disabled" }).toString()).toBe(
      "q=li&status=disabled",
    );
    expect(withParams(params, { q: "" }).toString()).toBe("role=ADMIN");
  });

  it("turns the status into the API's disabled filter", () => {
    expect(disabledFilter(null)).toBeNull();
    expect(disabledFilter("disabled")).toBe(true);
    expect(disabledFilter("active")).toBe(false);
  });
});

describe("client redirect URIs", () => {
  it("accepts https and loopback http only, without fragments", () => {
    expect(redirectUriProblem("https://erp.example.com/cb")).toBeNull();
    expect(redirectUriProblem("http://127.0.0.1:8080/cb")).toBeNull();
    expect(redirectUriProblem("http://erp.example.com/cb")).toBe("scheme");
    expect(redirectUriProblem("https://erp.example.com/cb#x")).toBe("fragment");
    expect(redirectUriProblem("not a url")).toBe("scheme");
  });

  it("splits lines", () => {
    expect(lines(" a \n\n b")).toEqual(["a", "b"]);
    expect(lines(undefined)).toEqual([]);
  });
});
