import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` serves the console here and sends the API to a running node
// (YUNFAB_CONSOLE_NODE, default the demo's first node). Sign-in redirects to the node's own
// registered URL, so the dev loop that signs in is `npm run build -- --watch` with the node
// serving dist/ (docs/console.md).
const node = process.env.YUNFAB_CONSOLE_NODE ?? "http://127.0.0.1:8100";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  test: {
    include: ["src/**/*.test.{ts,tsx}"],
    environment: "node",
  },
  server: {
    proxy: {
      "/graphql": { target: node, ws: true, changeOrigin: true },
      "/console/config.json": { target: node, changeOrigin: true },
    },
  },
});
