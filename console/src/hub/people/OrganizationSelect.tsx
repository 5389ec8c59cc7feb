import { Select } from "antd";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useQuery } from "urql";
import { PeopleOrganizationsQuery } from "./documents";

/** Picks an organization by name, searching the API as one types. The value is the name (what
 * createUser and createApiClient take). */
export function OrganizationSelect({
  id,
  value,
  onChange,
}: {
  id?: string;
  value?: string;
  onChange?: (name: string) => void;
}) {
  const { t } = useTranslation("people");
  const [typed, setTyped] = useState("");
  const [text, setText] = useState("");
  useEffect(() => {
    const timer = setTimeout(() => setText(typed.trim()), 300);
    return () => clearTimeout(timer);
  }, [typed]);
  const [{ data, fetching }] = useQuery({
    query: PeopleOrganizationsQuery,
    variables: { first: 50, text: text || null },
  });
  const options = (data?.organizations.edges ?? []).map(({ node }) => ({
    value: node.name,
    label: `${node.name} · ${t(`kinds.${node.kind}`)}`,
  }));
  return (
    <Select
      id={id}
      showSearch={{ filterOption: false, onSearch: setTyped }}
      value={value}
      onChange={onChange}
      loading={fetching}
      options={options}
      placeholder={t("organizations.pick")}
      notFoundContent={fetching ? t("loading") : t("organizations.none")}
    />
  );
}
