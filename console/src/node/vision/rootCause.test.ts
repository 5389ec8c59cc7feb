import { describe, expect, it } from "vitest";
import { hotAlpha } from "./heatmap";
import { keyMetrics, metricText } from "./metrics";
import { binPoints, bubbleSize, defectPositions, windowRange } from "./rootCause";

describe("root cause shaping", () => {
  it("plots each bin with parts at its middle, rate in percent", () => {
    expect(
      binPoints([
        { low: 200, high: 210, parts: 10, defective: 1, rate: 0.1 },
        { low: 210, high: 220, parts: 0, defective: 0, rate: null },
        { low: 220, high: 230, parts: 4, defective: 3, rate: null },
      ]),
    ).toEqual([
      [205, 10, 10],
      [225, 75, 4],
    ]);
    expect(bubbleSize(10, 10)).toBe(30);
    expect(bubbleSize(0, 0)).toBe(6);
  });

  it("puts defect boxes' centres as fractions of the image, defective parts only", () => {
    const box = { x: 10, y: 20, w: 20, h: 20, peak: 0.91234 };
    expect(
      defectPositions([
        { width: 100, height: 200, verdict: "defective", boxes: [box] },
        { width: 100, height: 200, verdict: "good", boxes: [box] },
      ]),
    ).toEqual([[0.2, 0.15, 0.912]]);
  });

  it("turns a window name into since and until", () => {
    const now = new Date("2026-12-06T12:00:00Z");
    expect(windowRange("24h", now)).toEqual({
      since: "2026-12-05T12:00:00.000Z",
      until: "2026-12-06T12:01:00.000Z",
    });
    expect(windowRange("bogus", now).since).toBe("2026-11-29T12:00:00.000Z");
  });
});

describe("model metrics", () => {
  it("picks the key metrics in order and formats them", () => {
    const values = [
      { name: "timings.train_s", number: 1.23456, text: null },
      { name: "other", number: 1, text: null },
      { name: "calibration", number: null, text: "good-only" },
    ];
    expect(keyMetrics(values).map((v) => v.name)).toEqual(["calibration", "timings.train_s"]);
    const fmt = (n: number, o?: Intl.NumberFormatOptions) =>
      new Intl.NumberFormat("en", o).format(n);
    expect(metricText(values[0] as (typeof values)[0], fmt)).toBe("1.235");
    expect(metricText({ name: "x", text: "good-only" }, fmt)).toBe("good-only");
  });
});

describe("heatmap overlay", () => {
  it("makes each pixel as opaque as it is red", () => {
    const pixels = new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 255, 255, 128, 128, 0, 255]);
    hotAlpha(pixels);
    expect([...pixels]).toEqual([255, 0, 0, 255, 0, 0, 255, 0, 128, 128, 0, 128]);
  });
});
