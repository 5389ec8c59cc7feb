import { describe, expect, it } from "vitest";
import {
  defectClass,
  fileKey,
  isImage,
  isMask,
  LIMITS,
  newProgressKey,
  progressPercent,
  restError,
  summarize,
  trainingForm,
} from "./training";

const file = (name: string, size = 1000, path = "", type = "image/png") => ({
  name,
  size,
  type,
  webkitRelativePath: path,
});

describe("picked files", () => {
  it("knows images by type or extension and leaves masks out", () => {
    expect(isImage(file("a.png"))).toBe(true);
    expect(isImage(file("a.JPG", 1, "", ""))).toBe(true);
    expect(isImage(file("notes.txt", 1, "", "text/plain"))).toBe(false);
    expect(isMask(file("0001.png", 1, "test/masks/scratch/0001.png"))).toBe(true);
    expect(isMask(file("0001.png", 1, "test/scratch/0001.png"))).toBe(false);
  });

  it("takes a defect's class from its folder, the typed one for loose files, none for good", () => {
    expect(defectClass(file("1.png", 1, "test/Scratch/1.png"), "defect")).toBe("scratch");
    expect(defectClass(file("1.png", 1, "dents/deep one/1.png"), "defect")).toBe("deep-one");
    expect(defectClass(file("1.png"), "dent")).toBe("dent");
    expect(defectClass(file("1.png", 1, "test/good/1.png"), "dent")).toBeNull();
  });

  it("keys a file by its path and size", () => {
    expect(fileKey(file("1.png", 5, "a/1.png"))).toBe("a/1.png:5");
    expect(fileKey(file("1.png", 5))).toBe("1.png:5");
  });
});

describe("summarize", () => {
  it("counts images, bytes and classes", () => {
    const summary = summarize({
      good: [file("a.png", 100), file("b.png", 200)],
      defects: [
        { label: "scratch", file: file("c.png", 50) },
        { label: "dent", file: file("d.png", 50) },
        { label: "scratch", file: file("e.png", 50) },
      ],
    });
    expect(summary).toMatchObject({ images: 5, bytes: 450, good: 2, problems: [] });
    expect(summary.classes).toEqual([
      { label: "dent", count: 1 },
      { label: "scratch", count: 2 },
    ]);
  });

  it("states each limit broken before anything is sent", () => {
    const limits = { maxImages: 2, maxImageBytes: 100, maxUploadBytes: 250 };
    const summary = summarize(
      {
        good: [file("a.png", 150), file("b.png", 50)],
        defects: [{ label: "Bad Class", file: file("c.png", 60) }],
      },
      limits,
    );
    expect(summary.problems.map((p) => p.kind)).toEqual([
      "tooMany",
      "imageTooLarge",
      "uploadTooLarge",
      "badClass",
    ]);
    expect(summarize({ good: [], defects: [] }).problems).toEqual([{ kind: "noGood" }]);
    expect(LIMITS.maxImages).toBe(2000);
  });
});

describe("trainingForm", () => {
  it("sends factory_id first, then the fields and the files under good and defects.<class>", () => {
    const good = new File(["x"], "g.png", { type: "image/png" });
    const bad = new File(["y"], "s.png", { type: "image/png" });
    const form = trainingForm(
      { factoryId: "f-1", sku: "mudguard", progressKey: "k-1" },
      { good: [good], defects: [{ label: "scratch", file: bad }] },
    );
    expect([...form.keys()]).toEqual([
      "factory_id",
      "sku",
      "progress_key",
      "good",
      "defects.scratch",
    ]);
    expect(form.get("factory_id")).toBe("f-1");
    expect((form.get("defects.scratch") as File).name).toBe("s.png");
  });
});

describe("progress", () => {
  it("maps each step onto one bar", () => {
    expect(progressPercent({ stage: "UPLOADING", done: 0, total: 1 })).toBe(0);
    expect(progressPercent({ stage: "DECODING", done: 15, total: 30 })).toBe(25);
    expect(progressPercent({ stage: "FITTING", done: 1, total: 1 })).toBe(60);
    expect(progressPercent({ stage: "CALIBRATING", done: 0, total: 0 })).toBe(60);
    expect(progressPercent({ stage: "DONE", done: 0, total: 0 })).toBe(100);
  });

  it("names a job with a v4 UUID", () => {
    expect(newProgressKey()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it("reads the node's error body", () => {
    expect(restError(422, { error: "invalid_input", detail: "sku: required" })).toEqual({
      message: "sku: required",
      code: "invalid_input",
    });
    expect(restError(502, null)).toEqual({ message: "HTTP 502", code: "HTTP_502" });
  });
});
