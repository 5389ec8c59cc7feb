import { type AreaModule, collectRoutes } from "./routes";

const modules = import.meta.glob<AreaModule>("../node/*/routes.tsx", { eager: true });

export const areaRoutes = collectRoutes(modules);
