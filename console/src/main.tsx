import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { Session } from "./auth/session";
import { loadConfig } from "./config";
import { initI18n } from "./i18n";

async function start(root: HTMLElement) {
  const [config] = await Promise.all([loadConfig(), initI18n()]);
  document.title = config.nodeName;
  createRoot(root).render(
    <StrictMode>
      <App session={new Session(config)} />
    </StrictMode>,
  );
}

const root = document.getElementById("root");
if (root) {
  start(root).catch((error: unknown) => {
    // Before React and the strings are up: plain text says what failed.
    root.textContent = `Yunfab console could not start: ${error instanceof Error ? error.message : String(error)}`;
  });
}
