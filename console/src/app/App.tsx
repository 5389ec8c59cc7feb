import { App as AntApp, ConfigProvider } from "antd";
import enUS from "antd/locale/en_US";
import zhCN from "antd/locale/zh_CN";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { createBrowserRouter, Outlet, RouterProvider } from "react-router";
import { Provider as UrqlProvider } from "urql";
import { createApiClient } from "../api/client";
import { AuthProvider, useAuth } from "../auth/AuthContext";
import type { Session } from "../auth/session";
import { ViewerProvider } from "../auth/useViewer";
import type { Service } from "../config";
import { CallbackPage } from "./CallbackPage";
import { AppLayout } from "./Layout";
import { areaRoutes } from "./registry";
import { SignInPage } from "./SignInPage";
import { theme } from "./theme";

/** The signed-in part: the API client lives as long as the sign-in. */
function SignedIn() {
  const { session, tokens } = useAuth();
  const { t } = useTranslation();
  const [expired, setExpired] = useState(false);
  const client = useMemo(
    () =>
      createApiClient(session, () => {
        session.tokens.clear();
        setExpired(true);
      }),
    [session],
  );
  if (!tokens) {
    return <SignInPage notice={expired ? t("signIn.expired") : undefined} />;
  }
  return (
    <UrqlProvider value={client}>
      <ViewerProvider>
        <Outlet />
      </ViewerProvider>
    </UrqlProvider>
  );
}

function createRouter(service: Service) {
  return createBrowserRouter([
    { path: "/auth/callback", Component: CallbackPage },
    {
      Component: SignedIn,
      children: [
        {
          Component: AppLayout,
          children: [
            ...areaRoutes(service).map((route) => ({
              path: route.path,
              lazy: async () => ({ Component: (await route.page()).default }),
            })),
            {
              path: "*",
              lazy: async () => ({ Component: (await import("./NotFoundPage")).default }),
            },
          ],
        },
      ],
    },
  ]);
}

export function App({ session }: { session: Session }) {
  const { i18n } = useTranslation();
  const locale = i18n.language === "en" ? enUS : zhCN;
  const service = session.config.service;
  const router = useMemo(() => createRouter(service), [service]);
  return (
    <ConfigProvider locale={locale} theme={theme} button={{ autoInsertSpace: false }}>
      <AntApp>
        <AuthProvider session={session}>
          <RouterProvider router={router} />
        </AuthProvider>
      </AntApp>
    </ConfigProvider>
  );
}
