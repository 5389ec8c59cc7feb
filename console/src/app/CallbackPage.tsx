import { Button, Result, Spin } from "antd";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { useAuth } from "../auth/AuthContext";

/** `/auth/callback`: the hub sends the browser back here with a code to exchange. */
export function CallbackPage() {
  const { t } = useTranslation();
  const { session } = useAuth();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const started = useRef(false);

  useEffect(() => {
    // A code is good once: StrictMode's second effect run must not send it again.
    if (started.current) return;
    started.current = true;
    session
      .completeSignIn(window.location.search)
      .then((to) => navigate(to, { replace: true }))
      .catch((reason: unknown) => {
        const message = reason instanceof Error ? reason.message : String(reason);
        setError(message === "state_mismatch" ? t("signIn.stateMismatch") : message);
      });
  }, [session, navigate, t]);

  if (error) {
    return (
      <main>
        <Result
          status="warning"
          title={t("signIn.failed")}
          subTitle={error}
          extra={
            <Button type="primary" onClick={() => navigate("/", { replace: true })}>
              {t("signIn.again")}
            </Button>
          }
        />
      </main>
    );
  }
  return (
    <main style={{ display: "grid", placeItems: "center", minHeight: "100vh" }}>
      <Spin size="large" description={t("signIn.finishing")} />
    </main>
  );
}
