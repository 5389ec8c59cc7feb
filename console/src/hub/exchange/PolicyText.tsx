import { Typography } from "antd";
import { useTranslation } from "react-i18next";
import { useFormat } from "../../components/format";
import { type PolicyLike, policySentences, type Sentence } from "./policyWords";

/** A usage policy (or an agreement's terms) as a list of plain sentences, one per term. */
export function PolicyText({ policy, testId }: { policy: PolicyLike; testId?: string }) {
  const { t, i18n } = useTranslation("exchange");
  const format = useFormat();
  const joiner = new Intl.ListFormat(i18n.language, { type: "conjunction" });
  const words = (sentence: Sentence): string => {
    if ("list" in sentence) {
      const items = sentence.list.map((item) =>
        sentence.items === "purpose"
          ? t(`purposes.${item}`)
          : sentence.items === "kind"
            ? t(`kinds.${item}`)
            : item,
      );
      return t(sentence.key, { list: joiner.format(items) });
    }
    if ("count" in sentence) return t(sentence.key, { count: sentence.count });
    if ("date" in sentence) return t(sentence.key, { date: format.date(sentence.date) });
    return t(sentence.key);
  };
  return (
    <ul style={{ margin: 0, paddingInlineStart: 20 }} data-testid={testId}>
      {policySentences(policy).map((sentence) => (
        <li key={sentence.key}>
          <Typography.Text strong>{t(`terms.${sentence.term}`)}</Typography.Text>
          {": "}
          {words(sentence)}
        </li>
      ))}
    </ul>
  );
}
