/**
 * A small wrapper over ECharts' tree-shaken core: it inits on mount, follows `option`, resizes
 * with its box, and disposes on unmount. Pages register the charts they draw with `use`
 * (`use([BarChart])`); the renderer and the common components are registered here.
 */
import {
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
} from "echarts/components";
import { type EChartsCoreOption, type EChartsType, init, use } from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { type CSSProperties, useEffect, useRef } from "react";

use([
  CanvasRenderer,
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
]);

export type { EChartsCoreOption, EChartsType };
export { use };

export interface EChartProps {
  option: EChartsCoreOption;
  /** What the chart shows, for screen readers. */
  label: string;
  style?: CSSProperties;
  /** Replace the option instead of merging (series removed, data reshaped). */
  notMerge?: boolean;
  onReady?: (chart: EChartsType) => void;
}

export function EChart({ option, label, style, notMerge = true, onReady }: EChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<EChartsType | null>(null);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const instance = init(element, undefined, { renderer: "canvas" });
    chart.current = instance;
    onReady?.(instance);
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(element);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, [onReady]);

  useEffect(() => {
    // ECharts writes its own aria-label on the box when aria is on: give it ours to write.
    chart.current?.setOption(
      { aria: { enabled: true, label: { description: label } }, ...option },
      { notMerge },
    );
  }, [option, notMerge, label]);

  return (
    <div ref={box} role="img" aria-label={label} style={{ width: "100%", height: 320, ...style }} />
  );
}
