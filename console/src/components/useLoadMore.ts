/**
 * "Load more" under a list the API pages by cursor: the first page comes from the page's own
 * query (`useQuery`), later pages are asked with `after` and appended. A change of `variables`
 * (a filter) drops what was appended. A failed page is kept as `error` for the page to show.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import { type CombinedError, type TypedDocumentNode, useClient } from "urql";

export interface Connection<Row> {
  edges: ReadonlyArray<{ node: Row }>;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}

export interface LoadMore<Row> {
  rows: Row[];
  hasNext: boolean;
  loading: boolean;
  error: CombinedError | undefined;
  loadMore: () => Promise<void>;
}

export function useLoadMore<Data, Variables extends { after?: string | null }, Row>(
  query: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  firstPage: Connection<Row> | null | undefined,
  pick: (data: Data) => Connection<Row> | null | undefined,
): LoadMore<Row> {
  const client = useClient();
  const [more, setMore] = useState<{ rows: Row[]; cursor: string | null; hasNext: boolean }>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<CombinedError>();
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset when the filter changes
  useEffect(() => {
    setMore(undefined);
    setError(undefined);
  }, [variables]);

  const rows = useMemo(
    () => [...(firstPage?.edges.map((edge) => edge.node) ?? []), ...(more?.rows ?? [])],
    [firstPage, more],
  );
  const hasNext = more ? more.hasNext : (firstPage?.pageInfo.hasNextPage ?? false);
  const cursor = more ? more.cursor : (firstPage?.pageInfo.endCursor ?? null);

  const loadMore = useCallback(async () => {
    if (!cursor) return;
    setLoading(true);
    const result = await client.query(query, { ...variables, after: cursor }).toPromise();
    setLoading(false);
    setError(result.error);
    const page = result.data ? pick(result.data) : null;
    if (!page) return;
    setMore((previous) => ({
      rows: [...(previous?.rows ?? []), ...page.edges.map((edge) => edge.node)],
      cursor: page.pageInfo.endCursor ?? null,
      hasNext: page.pageInfo.hasNextPage,
    }));
  }, [client, query, variables, cursor, pick]);

  return { rows, hasNext, loading, error, loadMore };
}
