/** A model's metrics as the registry shows them. */
export interface ValueLike {
  name: string;
  number?: number | null;
  text?: string | null;
}

/** The metrics worth a glance in the registry's table, in this order, when the model has them. */
export const KEY_METRICS = ["image_auroc", "image_threshold", "calibration", "timings.train_s"];

export function keyMetrics<T extends ValueLike>(values: T[]): T[] {
  const byName = new Map(values.map((v) => [v.name, v]));
  return KEY_METRICS.flatMap((name) => {
    const value = byName.get(name);
    return value && (value.number != null || value.text != null) ? [value] : [];
  });
}

/** A value's text: numbers to at most 3 decimals (through the page's formatter), text as is. */
export function metricText(
  value: ValueLike,
  formatNumber: (n: number, options?: Intl.NumberFormatOptions) => string,
): string {
  if (value.number != null) {
    return formatNumber(value.number, { maximumFractionDigits: 3 });
  }
  return value.text ?? "—";
}
