/** Shaping the node's root-cause answer (`qualityCauses`) and defect boxes for the charts. */

export interface CauseBin {
  low: number;
  high: number;
  parts: number;
  defective: number;
  rate?: number | null;
}

/** [bin middle, defect rate in %, parts] per bin that has parts, for a scatter over the value. */
export function binPoints(bins: CauseBin[]): [number, number, number][] {
  return bins
    .filter((bin) => bin.parts > 0)
    .map((bin) => [
      (bin.low + bin.high) / 2,
      round((bin.rate ?? bin.defective / bin.parts) * 100, 2),
      bin.parts,
    ]);
}

/** A bubble's size from the parts it stands for: 6 px to 30 px. */
export function bubbleSize(parts: number, most: number): number {
  if (most <= 0) return 6;
  return Math.round(6 + 24 * Math.sqrt(parts / most));
}

export interface PositionRecord {
  width: number;
  height: number;
  verdict: string;
  boxes: { x: number; y: number; w: number; h: number; peak: number }[];
}

/** Each defect box's centre as fractions of the image ([x, y, peak]), defective parts only. */
export function defectPositions(records: PositionRecord[]): [number, number, number][] {
  const points: [number, number, number][] = [];
  for (const record of records) {
    if (record.verdict !== "defective" || record.width <= 0 || record.height <= 0) continue;
    for (const box of record.boxes) {
      points.push([
        round((box.x + box.w / 2) / record.width, 4),
        round((box.y + box.h / 2) / record.height, 4),
        round(box.peak, 3),
      ]);
    }
  }
  return points;
}

/** The `since`/`until` of a window ending now: "24h", "7d" or "30d" (7 days otherwise). */
export const WINDOWS = { "24h": 1, "7d": 7, "30d": 30 } as const;
export type WindowName = keyof typeof WINDOWS;

export function windowRange(name: string | null, now: Date = new Date()) {
  const days = WINDOWS[(name ?? "7d") as WindowName] ?? WINDOWS["7d"];
  // Until a minute ahead: a part inspected just now is in.
  const until = new Date(now.getTime() + 60_000);
  const since = new Date(now.getTime() - days * 24 * 3600 * 1000);
  return { since: since.toISOString(), until: until.toISOString() };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
