/**
 * The route registry. Every area exports `routes: AreaRoute[]` from its `routes.tsx`; the shell
 * collects them by glob (`collectRoutes`), so adding an area edits no shared file.
 */
import type { ComponentType, ReactNode } from "react";
import type { Viewer } from "../auth/useViewer";

export interface AreaMenu {
  /** An i18n key with its namespace, e.g. "overview:menu". */
  labelKey: string;
  icon?: ReactNode;
  /** Smaller first. */
  order: number;
  /** Whether to show the entry; decide from `viewer.can` (the API's answer), never from roles. */
  visible?: (viewer: Viewer) => boolean;
}

export interface AreaRoute {
  /** Absolute path with react-router params, e.g. "/factories/:slug". */
  path: string;
  /** The page, loaded when the route is first opened (its own chunk). */
  page: () => Promise<{ default: ComponentType }>;
  menu?: AreaMenu;
}

export interface AreaModule {
  routes: AreaRoute[];
}

/** Every area's routes from globbed modules, sorted so menus and matching are stable. */
export function collectRoutes(modules: Record<string, AreaModule>): AreaRoute[] {
  const routes = Object.keys(modules)
    .sort()
    .flatMap((path) => modules[path]?.routes ?? []);
  const seen = new Set<string>();
  for (const route of routes) {
    if (seen.has(route.path)) {
      throw new Error(`two areas claim the route ${route.path}`);
    }
    seen.add(route.path);
  }
  return routes;
}

export function menuEntries(routes: AreaRoute[], viewer: Viewer) {
  return routes
    .filter((route) => route.menu && (route.menu.visible?.(viewer) ?? true))
    .sort((a, b) => (a.menu?.order ?? 0) - (b.menu?.order ?? 0));
}
