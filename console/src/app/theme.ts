import type { ThemeConfig } from "antd";

/**
 * Ant Design tokens only: no CSS framework of our own. Secondary text (labels, descriptions,
 * statistic titles) is darker than antd's default 45% black, which fails WCAG AA contrast (3.4:1)
 * on white; 62% gives about 5.9:1. The status colours are antd's darker shades for the same
 * reason (its default green and gold text on their pale backgrounds is about 2:1). A primary
 * button darkens under the pointer instead of lightening: antd's lighter hover shade of our blue
 * puts white text at 4.2:1.
 */
export const theme: ThemeConfig = {
  token: {
    colorPrimary: "#1f5fbf",
    colorPrimaryHover: "#194f9f",
    colorPrimaryActive: "#143f80",
    borderRadius: 6,
    colorTextTertiary: "rgba(0, 0, 0, 0.62)",
    colorTextDescription: "rgba(0, 0, 0, 0.62)",
    // Placeholders say what an empty filter means ("every factory"): antd's #bfbfbf is 1.8:1.
    colorTextPlaceholder: "rgba(0, 0, 0, 0.6)",
    colorSuccess: "#237804",
    colorWarning: "#ad4e00",
    colorError: "#cf1322",
    colorInfo: "#1f5fbf",
    // Pale backgrounds kept as antd's own (derived from the darker seeds they turn grey).
    colorSuccessBg: "#f6ffed",
    colorSuccessBorder: "#b7eb8f",
    colorWarningBg: "#fff7e6",
    colorWarningBorder: "#ffd591",
    colorErrorBg: "#fff1f0",
    colorErrorBorder: "#ffa39e",
    colorInfoBg: "#e6f4ff",
    colorInfoBorder: "#91caff",
  },
  components: {
    Layout: { headerBg: "#ffffff", siderBg: "#001529" },
  },
};
