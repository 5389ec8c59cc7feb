/**
 * An offer's usage policy, or an agreement's terms, as plain sentences: one per term of the
 * closed vocabulary (docs/data_exchange.md), each an i18n key of the `exchange` namespace with
 * what it needs. The page translates the lists' items (purposes, organization kinds) itself.
 */

export interface PolicyLike {
  consumers?: { organizations: readonly string[]; kinds: readonly string[] } | null;
  purposes?: readonly string[] | null;
  regions?: readonly string[] | null;
  fields?: readonly string[] | null;
  aggregation?: { minContributors: number } | null;
  retentionDays: number;
  contractDays: number;
  expiresAt?: string | null;
  onwardSharing: boolean;
  freshData: boolean;
  approval?: string | null;
}

export type Sentence =
  | { term: string; key: string }
  | { term: string; key: string; count: number }
  | { term: string; key: string; date: string }
  | { term: string; key: string; list: readonly string[]; items: "purpose" | "kind" | "plain" };

export function policySentences(policy: PolicyLike): Sentence[] {
  const out: Sentence[] = [];
  const consumers = policy.consumers;
  if (consumers) {
    if (consumers.kinds.length > 0) {
      out.push({
        term: "consumers",
        key: "policy.consumerKinds",
        list: consumers.kinds,
        items: "kind",
      });
    }
    if (consumers.organizations.length > 0) {
      out.push({
        term: "consumers",
        key: "policy.consumerOrganizations",
        list: consumers.organizations,
        items: "plain",
      });
    }
  }
  if (policy.purposes && policy.purposes.length > 0) {
    const key = policy.purposes.length === 1 ? "policy.purpose" : "policy.purposes";
    out.push({ term: "purposes", key, list: policy.purposes, items: "purpose" });
  }
  out.push(
    policy.fields
      ? { term: "fields", key: "policy.fields", list: policy.fields, items: "plain" }
      : { term: "fields", key: "policy.allFields" },
  );
  out.push(
    policy.regions && policy.regions.length > 0
      ? { term: "regions", key: "policy.regions", list: policy.regions, items: "plain" }
      : { term: "regions", key: "policy.allRegions" },
  );
  out.push(
    policy.aggregation
      ? {
          term: "aggregation",
          key: "policy.aggregation",
          count: policy.aggregation.minContributors,
        }
      : { term: "aggregation", key: "policy.rows" },
  );
  out.push({ term: "retention_days", key: "policy.retention", count: policy.retentionDays });
  out.push({ term: "contract_days", key: "policy.contractDays", count: policy.contractDays });
  if (policy.expiresAt) {
    out.push({ term: "expires_at", key: "policy.expires", date: policy.expiresAt });
  }
  out.push({
    term: "onward_sharing",
    key: policy.onwardSharing ? "policy.onwardSharing" : "policy.noOnwardSharing",
  });
  out.push({
    term: "fresh_data",
    key: policy.freshData ? "policy.freshData" : "policy.storedData",
  });
  if (policy.approval) {
    out.push({
      term: "approval",
      key: policy.approval === "AUTOMATIC" ? "policy.automatic" : "policy.provider",
    });
  }
  return out;
}

/** A contract's purpose as stored (`capacity-planning`) to its enum name (`CAPACITY_PLANNING`). */
export function purposeKey(purpose: string): string {
  return purpose.replace(/-/g, "_").toUpperCase();
}
