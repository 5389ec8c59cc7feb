/** RGBA pixels of the anomaly map made see-through where it is cold: opacity = red. */
export function hotAlpha(rgba: Uint8ClampedArray): void {
  for (let i = 0; i < rgba.length; i += 4) {
    rgba[i + 3] = rgba[i] ?? 0;
  }
}
