import { LoginOutlined } from "@ant-design/icons";
import { Button, Card, Flex, Typography } from "antd";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { LanguageSwitch } from "./LanguageSwitch";

/** What someone not signed in sees: the node's name and the way to the hub's sign-in. */
export function SignInPage({ notice }: { notice?: string }) {
  const { t, i18n } = useTranslation();
  const { config, session } = useAuth();
  const location = useLocation();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    // Back from the hub's sign-out, which adds its `state`: nothing to keep in the address.
    const params = new URLSearchParams(location.search);
    if (params.has("state") && [...params.keys()].length === 1) {
      navigate(location.pathname, { replace: true });
    }
  }, [location, navigate]);
  const returnTo = `${location.pathname}${location.search}${location.hash}`;
  return (
    <main>
      <Flex
        vertical
        align="center"
        justify="center"
        gap="large"
        style={{ minHeight: "100vh", padding: 24 }}
      >
        <Card style={{ maxWidth: 420, width: "100%" }}>
          <Flex vertical gap="middle">
            <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }} data-testid="node-name">
              {config.nodeName}
            </Typography.Title>
            <Typography.Paragraph style={{ margin: 0 }}>{t("signIn.intro")}</Typography.Paragraph>
            {notice ? <Typography.Text type="warning">{notice}</Typography.Text> : null}
            <Button
              type="primary"
              size="large"
              icon={<LoginOutlined />}
              loading={busy}
              onClick={() => {
                setBusy(true);
                void session.signIn(returnTo, i18n.language).catch(() => setBusy(false));
              }}
            >
              {t("signIn.button")}
            </Button>
          </Flex>
        </Card>
        <LanguageSwitch />
      </Flex>
    </main>
  );
}
