/** "mudguard v3": a model as people name it (SKU and version). */
export function modelLabel(model: { sku: string; number: number }): string {
  return `${model.sku} v${model.number}`;
}

/** Bytes as MB with one decimal, for limits and upload sizes. */
export function megabytes(bytes: number): number {
  return Math.round((bytes / (1024 * 1024)) * 10) / 10;
}
