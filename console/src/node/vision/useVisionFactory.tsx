import { Select } from "antd";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { graphql } from "../../gql/node";

const VisionFactories = graphql(`
  query VisionFactories {
    factories(first: 100) {
      edges {
        node {
          id
          slug
          name
        }
      }
    }
  }
`);

export interface FactoryChoice {
  id: string;
  slug: string;
  name: string;
}

/**
 * The factory a vision page shows, kept in the address (`?factory=<id>`) so links and reloads
 * keep it. The choices are the viewer's own factories, or every factory the API lists.
 */
export function useVisionFactory() {
  const viewer = useViewer();
  const [params, setParams] = useSearchParams();
  const [{ data, fetching, error }] = useQuery({ query: VisionFactories });
  const factories = useMemo<FactoryChoice[]>(() => {
    const seen = new Map<string, FactoryChoice>();
    for (const factory of viewer.factories) seen.set(factory.id, factory);
    for (const edge of data?.factories.edges ?? []) seen.set(edge.node.id, edge.node);
    return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
  }, [viewer.factories, data]);
  const asked = params.get("factory");
  const factoryId = factories.some((f) => f.id === asked)
    ? (asked as string)
    : (viewer.factories[0]?.id ?? factories[0]?.id ?? null);
  const setFactoryId = (id: string) => {
    const next = new URLSearchParams(params);
    next.set("factory", id);
    next.delete("station");
    setParams(next);
  };
  return {
    factories,
    factoryId,
    setFactoryId,
    fetching: fetching && factories.length === 0,
    error: factories.length === 0 ? error : undefined,
  };
}

export function FactorySelect({
  factories,
  value,
  onChange,
}: {
  factories: FactoryChoice[];
  value: string | null;
  onChange: (id: string) => void;
}) {
  const { t } = useTranslation("vision");
  return (
    <Select
      aria-label={t("factory.label")}
      style={{ minWidth: 240 }}
      value={value ?? undefined}
      onChange={onChange}
      options={factories.map((f) => ({ value: f.id, label: f.name }))}
    />
  );
}
