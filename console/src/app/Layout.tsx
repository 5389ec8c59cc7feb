import { LogoutOutlined, UserOutlined } from "@ant-design/icons";
import { Button, Dropdown, Layout, Menu, Space, Spin, Typography } from "antd";
import { Suspense, useMemo } from "react";
import { useTranslation } from "react-i18next";
import { Link, Outlet, useLocation } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { useViewer } from "../auth/useViewer";
import { LanguageSwitch } from "./LanguageSwitch";
import { areaRoutes } from "./registry";
import { menuEntries } from "./routes";

/** The menu entry a path belongs to: the longest registered path that prefixes it. */
function selectedKey(pathname: string, keys: string[]): string[] {
  const match = keys
    .filter((key) =>
      key === "/" ? pathname === "/" : pathname === key || pathname.startsWith(`${key}/`),
    )
    .sort((a, b) => b.length - a.length)[0];
  return match ? [match] : [];
}

export function AppLayout() {
  const { t } = useTranslation();
  const { config, session } = useAuth();
  const viewer = useViewer();
  const location = useLocation();
  const entries = useMemo(
    () => menuEntries(areaRoutes(config.service), viewer),
    [config.service, viewer],
  );
  const items = entries.map((route) => ({
    key: route.path,
    icon: route.menu?.icon,
    label: <Link to={route.path}>{t(route.menu?.labelKey ?? "")}</Link>,
  }));
  const who = viewer.name ?? viewer.email ?? viewer.subject ?? t("user.unknown");

  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Sider breakpoint="lg" collapsedWidth={0} width={220}>
        <div style={{ padding: "16px 24px" }}>
          <Typography.Text strong style={{ color: "#fff", fontSize: 16 }}>
            {t("app.name")}
          </Typography.Text>
        </div>
        <nav aria-label={t("app.navigation")}>
          <Menu
            theme="dark"
            mode="inline"
            selectedKeys={selectedKey(
              location.pathname,
              entries.map((route) => route.path),
            )}
            items={items}
          />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{
            display: "flex",
            alignItems: "center",
            justifyContent: "space-between",
            paddingInline: 24,
            borderBottom: "1px solid rgba(5, 5, 5, 0.06)",
          }}
        >
          <Typography.Title level={1} style={{ fontSize: 18, margin: 0 }} data-testid="node-name">
            {config.nodeName}
          </Typography.Title>
          <Space size="middle">
            <LanguageSwitch />
            <Dropdown
              trigger={["click"]}
              menu={{
                items: [
                  {
                    key: "sign-out",
                    icon: <LogoutOutlined />,
                    label: t("user.signOut"),
                    onClick: () => void session.signOut(),
                  },
                ],
              }}
            >
              <Button
                type="text"
                icon={<UserOutlined />}
                aria-label={t("user.menu", { name: who })}
              >
                {who}
              </Button>
            </Dropdown>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 24 }}>
          <Suspense fallback={<Spin />}>
            <Outlet />
          </Suspense>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
