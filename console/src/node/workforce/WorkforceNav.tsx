import { Alert, Form, Menu } from "antd";
import { cloneElement, isValidElement, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation } from "react-router";
import type { FormProblem } from "./shaping";

const PAGES = [
  { path: "/workforce", key: "pools" },
  { path: "/workforce/needs", key: "needs" },
  { path: "/workforce/matching", key: "matching" },
  { path: "/workforce/proposals", key: "proposals" },
] as const;

/** The shared-workers pages' tabs. */
export function WorkforceNav() {
  const { t } = useTranslation("workforce");
  const { pathname } = useLocation();
  return (
    <nav aria-label={t("nav.label")} style={{ marginBottom: 16 }}>
      <Menu
        mode="horizontal"
        selectedKeys={[pathname]}
        items={PAGES.map((page) => ({
          key: page.path,
          label: <Link to={page.path}>{t(`nav.${page.key}`)}</Link>,
        }))}
        style={{ background: "transparent" }}
      />
    </nav>
  );
}

/** A form field with its problem, if the check found one, named under it. */
export function Field({
  name,
  problems,
  children,
}: {
  name: string;
  problems: FormProblem[];
  children: ReactNode;
}) {
  const { t } = useTranslation("workforce");
  const problem = problems.find((p) => p.path === name);
  // The label names its control (the fields are ours, not the Form's, so it cannot link them).
  const id = `workforce-field-${name}`;
  return (
    <Form.Item
      label={t(`field.${name}`)}
      htmlFor={id}
      validateStatus={problem ? "error" : undefined}
      help={problem ? t(`problems.${problem.key}`, problem.values) : undefined}
    >
      {isValidElement<{ id?: string }>(children) ? cloneElement(children, { id }) : children}
    </Form.Item>
  );
}

/** The API's refusal: its message and its code. */
export function Refusal({ refusal }: { refusal: { code: string; message: string } | null }) {
  const { t } = useTranslation("workforce");
  if (!refusal) return null;
  return (
    <Alert
      type="error"
      showIcon
      data-testid="workforce-refusal"
      title={t("refused")}
      description={
        <>
          {refusal.message} <code>{refusal.code}</code>
        </>
      }
    />
  );
}
