import { useMemo } from "react";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { DeviceFactoriesQuery } from "./queries";

export interface FactoryChoice {
  id: string;
  slug: string;
  name: string;
  active: boolean;
}

/**
 * The factories whose devices the person may see: every factory for the node operator (from
 * `factories`), else their own (from the viewer). A refusal of `factories` leaves their own.
 */
export function useFactoryChoices(): {
  factories: FactoryChoice[];
  byId: Map<string, FactoryChoice>;
} {
  const viewer = useViewer();
  const [{ data }] = useQuery({ query: DeviceFactoriesQuery });
  return useMemo(() => {
    const byId = new Map<string, FactoryChoice>();
    for (const edge of data?.factories.edges ?? []) {
      const factory = edge.node;
      byId.set(factory.id, {
        id: factory.id,
        slug: factory.slug,
        name: factory.name,
        active: factory.status === "ACTIVE",
      });
    }
    for (const factory of viewer.factories) {
      if (!byId.has(factory.id)) {
        byId.set(factory.id, {
          id: factory.id,
          slug: factory.slug,
          name: factory.name,
          active: true,
        });
      }
    }
    const factories = [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
    return { factories, byId };
  }, [data, viewer.factories]);
}
