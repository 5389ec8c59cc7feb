import type { CombinedError } from "urql";
import { describeError } from "../../components/QueryState";

/** The terms a refusal may name (`extensions.term`): the vocabulary's and the negotiation's. */
export const KNOWN_TERMS = [
  "consumers",
  "purposes",
  "fields",
  "regions",
  "aggregation",
  "expires_at",
  "offer",
  "state",
  "fresh_data",
  "scope",
  "policy",
] as const;

export interface Refusal {
  message: string;
  code: string | null;
  /** The first term broken (null when the API refused for another reason). */
  term: string | null;
  /** Every term broken, where the API lists them. */
  terms: string[];
}

/** The API's refusal: its message and code, and the term of the agreement or offer it breaks. */
export function refusalOf(error: CombinedError): Refusal {
  const { message, code } = describeError(error);
  const extensions = error.graphQLErrors[0]?.extensions ?? {};
  const term = typeof extensions.term === "string" ? extensions.term : null;
  const listed = Array.isArray(extensions.terms)
    ? extensions.terms.filter((t): t is string => typeof t === "string")
    : [];
  const terms = term && !listed.includes(term) ? [term, ...listed] : listed;
  return { message, code, term, terms };
}

export function isKnownTerm(term: string): boolean {
  return (KNOWN_TERMS as readonly string[]).includes(term);
}
