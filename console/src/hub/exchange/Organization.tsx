import { Typography } from "antd";
import { useTranslation } from "react-i18next";
import { useViewer } from "../../auth/useViewer";

/** An organization by its id, marked where it is the viewer's own. */
export function Organization({ id }: { id: string }) {
  const { t } = useTranslation("exchange");
  const viewer = useViewer();
  return (
    <>
      <Typography.Text style={{ wordBreak: "break-all" }}>{id}</Typography.Text>
      {viewer.organization === id ? (
        <Typography.Text type="secondary"> ({t("contract.you")})</Typography.Text>
      ) : null}
    </>
  );
}
