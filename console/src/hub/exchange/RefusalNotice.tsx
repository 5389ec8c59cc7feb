import { Alert } from "antd";
import { useTranslation } from "react-i18next";
import type { CombinedError } from "urql";
import { ErrorNotice } from "../../components/QueryState";
import { isKnownTerm, refusalOf } from "./refusal";

/**
 * A refusal that names the term it breaks (`extensions.term`): the term in words, what it
 * means, and the API's own message and code. Any other error is shown as every page shows it.
 */
export function RefusalNotice({ error }: { error: CombinedError }) {
  const { t } = useTranslation("exchange");
  const refusal = refusalOf(error);
  if (!refusal.term) return <ErrorNotice error={error} />;
  const name = (term: string) => (isKnownTerm(term) ? t(`terms.${term}`) : term);
  const others = refusal.terms.filter((term) => term !== refusal.term);
  return (
    <Alert
      type="error"
      showIcon
      data-testid="exchange-refusal"
      data-term={refusal.term}
      title={t("refusal.title", { term: name(refusal.term) })}
      description={
        <>
          {isKnownTerm(refusal.term) ? <div>{t(`termExplain.${refusal.term}`)}</div> : null}
          {others.length > 0 ? (
            <div>{t("refusal.others", { list: others.map(name).join(", ") })}</div>
          ) : null}
          <div>
            {refusal.message}
            {refusal.code ? (
              <>
                {" "}
                <code>{refusal.code}</code>
              </>
            ) : null}
          </div>
        </>
      }
    />
  );
}
