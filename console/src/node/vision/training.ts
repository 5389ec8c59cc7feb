/**
 * The training upload's client side: which dropped files are images, what class a defect image
 * belongs to (its folder's name), the limits checked before anything is sent, the multipart body
 * of `POST /api/v1/vision/models` (factory_id before the files, as the node requires), and the
 * progress steps as one percentage.
 */

/** The node's defaults (VISION_MAX_UPLOAD_MB, VISION_MAX_IMAGE_MB, at most 2000 images). */
export const LIMITS = {
  maxImages: 2000,
  maxImageBytes: 20 * 1024 * 1024,
  maxUploadBytes: 256 * 1024 * 1024,
};
export type Limits = typeof LIMITS;

/** What the node accepts as a defect class. */
export const CLASS_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const IMAGE_EXTENSIONS = /\.(png|jpe?g|bmp|tiff?|webp)$/i;

export interface PickedFile {
  name: string;
  size: number;
  type: string;
  /** "folder/sub/name.png" when it came in a dropped folder. */
  webkitRelativePath?: string;
}

export function isImage(file: PickedFile): boolean {
  return file.type.startsWith("image/") || IMAGE_EXTENSIONS.test(file.name);
}

function folders(file: PickedFile): string[] {
  const path = file.webkitRelativePath ?? "";
  return path.split("/").slice(0, -1);
}

/** Files under a `masks` folder are the generator's defect masks, not images to learn from. */
export function isMask(file: PickedFile): boolean {
  return folders(file).some((part) => part.toLowerCase() === "masks");
}

/**
 * A defect image's class: the folder it sits in (`test/scratch/0001.png` is a scratch), made
 * into what the node accepts; the fallback (the class typed on the page) for loose files.
 * Null for files in a `good` folder: those are not defects.
 */
export function defectClass(file: PickedFile, fallback: string): string | null {
  const parent = folders(file).at(-1);
  if (!parent) return fallback;
  const label = parent
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+/, "");
  if (label === "good") return null;
  return label || fallback;
}

/** A stable identity for a picked file, so dropping the same folder twice adds nothing. */
export function fileKey(file: PickedFile): string {
  return `${file.webkitRelativePath || file.name}:${file.size}`;
}

export interface LabelledFile<F extends PickedFile = PickedFile> {
  label: string;
  file: F;
}

export interface TrainingSet<F extends PickedFile = PickedFile> {
  good: F[];
  defects: LabelledFile<F>[];
}

export type Problem =
  | { kind: "noGood" }
  | { kind: "tooMany"; count: number; max: number }
  | { kind: "imageTooLarge"; name: string; bytes: number; max: number }
  | { kind: "uploadTooLarge"; bytes: number; max: number }
  | { kind: "badClass"; label: string };

export interface SetSummary {
  images: number;
  bytes: number;
  good: number;
  classes: { label: string; count: number }[];
  problems: Problem[];
}

export function summarize(set: TrainingSet, limits: Limits = LIMITS): SetSummary {
  const all = [...set.good, ...set.defects.map((d) => d.file)];
  const bytes = all.reduce((sum, f) => sum + f.size, 0);
  const counts = new Map<string, number>();
  for (const { label } of set.defects) counts.set(label, (counts.get(label) ?? 0) + 1);
  const problems: Problem[] = [];
  if (set.good.length === 0) problems.push({ kind: "noGood" });
  if (all.length > limits.maxImages) {
    problems.push({ kind: "tooMany", count: all.length, max: limits.maxImages });
  }
  const large = all.filter((f) => f.size > limits.maxImageBytes);
  for (const file of large.slice(0, 3)) {
    problems.push({
      kind: "imageTooLarge",
      name: file.webkitRelativePath || file.name,
      bytes: file.size,
      max: limits.maxImageBytes,
    });
  }
  if (bytes > limits.maxUploadBytes) {
    problems.push({ kind: "uploadTooLarge", bytes, max: limits.maxUploadBytes });
  }
  for (const label of counts.keys()) {
    if (!CLASS_PATTERN.test(label)) problems.push({ kind: "badClass", label });
  }
  return {
    images: all.length,
    bytes,
    good: set.good.length,
    classes: [...counts.entries()]
      .map(([label, count]) => ({ label, count }))
      .sort((a, b) => a.label.localeCompare(b.label)),
    problems,
  };
}

/** The multipart body: `factory_id` first (the node authorizes from it before reading files). */
export function trainingForm(
  fields: { factoryId: string; sku: string; progressKey: string; holdout?: number },
  set: TrainingSet<File>,
): FormData {
  const form = new FormData();
  form.append("factory_id", fields.factoryId);
  form.append("sku", fields.sku);
  form.append("progress_key", fields.progressKey);
  if (fields.holdout !== undefined) form.append("holdout", String(fields.holdout));
  for (const file of set.good) form.append("good", file, file.name);
  for (const { label, file } of set.defects) form.append(`defects.${label}`, file, file.name);
  return form;
}

export type Stage =
  | "UPLOADING"
  | "DECODING"
  | "FITTING"
  | "CALIBRATING"
  | "STORING"
  | "DONE"
  | "FAILED";

/** Where each step's share of the whole bar starts and ends. */
const SPANS: Record<Stage, [number, number]> = {
  UPLOADING: [0, 10],
  DECODING: [10, 40],
  FITTING: [40, 60],
  CALIBRATING: [60, 90],
  STORING: [90, 99],
  DONE: [100, 100],
  FAILED: [100, 100],
};

export function progressPercent(step: { stage: Stage; done: number; total: number }): number {
  const [start, end] = SPANS[step.stage];
  const share = step.total > 0 ? Math.min(1, Math.max(0, step.done / step.total)) : 0;
  return Math.round(start + (end - start) * share);
}

/** A fresh UUID for `progress_key`; `crypto.randomUUID` is missing outside secure contexts. */
export function newProgressKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The node's error body (`{"error": code, "detail": ...}`) as a message and a code. */
export function restError(status: number, body: unknown): { message: string; code: string } {
  if (typeof body === "object" && body !== null) {
    const record = body as Record<string, unknown>;
    const code = typeof record.error === "string" ? record.error : `HTTP_${status}`;
    const detail = record.detail;
    const message =
      typeof detail === "string" ? detail : Array.isArray(detail) ? JSON.stringify(detail) : code;
    return { message, code };
  }
  return { message: `HTTP ${status}`, code: `HTTP_${status}` };
}
