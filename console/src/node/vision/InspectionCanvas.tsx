import { Skeleton } from "antd";
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { authFetch } from "../../api/authFetch";
import { useAuth } from "../../auth/AuthContext";
import { hotAlpha } from "./heatmap";

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
  peak: number;
}

function base64Blob(base64: string, type: string): Blob {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type });
}

/**
 * The anomaly map with its cold part see-through: each pixel's opacity follows its red (the
 * map is red where a defect is likely), so the part shows under all but its suspect regions.
 */
async function hotOnly(bitmap: ImageBitmap): Promise<ImageBitmap> {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d");
  if (!context) return bitmap;
  context.drawImage(bitmap, 0, 0);
  const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height);
  hotAlpha(pixels.data);
  context.putImageData(pixels, 0, 0);
  return createImageBitmap(canvas);
}

/**
 * One inspected part: the masked image the node kept (fetched with the bearer token), the
 * anomaly map laid over it, and the defect boxes, drawn at the size the part was inspected.
 */
export function InspectionCanvas({
  imagePath,
  heatmapPng,
  boxes,
  width,
  height,
  label,
  showHeatmap = true,
  maxWidth = 320,
}: {
  imagePath: string | null | undefined;
  heatmapPng: string | null | undefined;
  boxes: Box[];
  width: number;
  height: number;
  label: string;
  showHeatmap?: boolean;
  maxWidth?: number;
}) {
  const { t } = useTranslation("vision");
  const { session } = useAuth();
  const canvas = useRef<HTMLCanvasElement>(null);
  const fetcher = useMemo(() => authFetch(session.tokens, () => session.tokens.clear()), [session]);
  const [image, setImage] = useState<ImageBitmap | null>(null);
  const [heatmap, setHeatmap] = useState<ImageBitmap | null>(null);
  const [loading, setLoading] = useState(!!imagePath);
  const [failed, setFailed] = useState<string | null>(null);

  useEffect(() => {
    if (!imagePath) {
      setLoading(false);
      return;
    }
    let live = true;
    setLoading(true);
    fetcher(new URL(imagePath, window.location.href))
      .then(async (response) => {
        if (!response.ok) throw new Error(`HTTP_${response.status}`);
        const bitmap = await createImageBitmap(await response.blob());
        if (live) setImage(bitmap);
      })
      .catch((error: unknown) => {
        if (live) setFailed(error instanceof Error ? error.message : String(error));
      })
      .finally(() => {
        if (live) setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [imagePath, fetcher]);

  useEffect(() => {
    if (!heatmapPng) return;
    let live = true;
    createImageBitmap(base64Blob(heatmapPng, "image/png"))
      .then(hotOnly)
      .then((bitmap) => {
        if (live) setHeatmap(bitmap);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [heatmapPng]);

  useEffect(() => {
    const element = canvas.current;
    const context = element?.getContext("2d");
    if (!element || !context) return;
    context.clearRect(0, 0, width, height);
    context.fillStyle = "#1f1f1f";
    context.fillRect(0, 0, width, height);
    if (image) context.drawImage(image, 0, 0, width, height);
    if (heatmap && showHeatmap) {
      context.globalAlpha = image ? 0.85 : 1;
      context.drawImage(heatmap, 0, 0, width, height);
      context.globalAlpha = 1;
    }
    context.lineWidth = Math.max(1, Math.round(width / 160));
    context.strokeStyle = "#ffd400";
    for (const box of boxes) context.strokeRect(box.x, box.y, box.w, box.h);
  }, [image, heatmap, boxes, width, height, showHeatmap]);

  if (loading) {
    return <Skeleton.Image active style={{ width: maxWidth, height: maxWidth }} />;
  }
  return (
    <figure style={{ margin: 0 }}>
      <canvas
        ref={canvas}
        width={width}
        height={height}
        role="img"
        aria-label={label}
        data-testid="inspection-canvas"
        data-heatmap={heatmap && showHeatmap ? "shown" : "none"}
        data-image={image ? "loaded" : failed ? "failed" : "none"}
        style={{ width: "100%", maxWidth, height: "auto", display: "block", borderRadius: 4 }}
      />
      {failed ? (
        <figcaption style={{ fontSize: 12 }}>
          {t("feed.imageFailed")} <code>{failed}</code>
        </figcaption>
      ) : null}
    </figure>
  );
}
