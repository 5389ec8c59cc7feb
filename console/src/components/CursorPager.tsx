/**
 * Paging through a GraphQL connection by cursor, for lists the API pages with `after`: the
 * cursors of the pages seen so far are kept, so "previous" goes back without the API paging
 * backwards. `reset()` starts again from the first page (a filter changed).
 */
import { Button, Space, Typography } from "antd";
import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";

export interface CursorPages {
  /** The `after` argument of the page shown (null: the first page). */
  after: string | null;
  /** 1 for the first page. */
  page: number;
  previous: () => void;
  next: (endCursor: string | null | undefined) => void;
  reset: () => void;
}

export function useCursorPages(): CursorPages {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const previous = useCallback(() => setCursors((list) => list.slice(0, -1)), []);
  const next = useCallback(
    (endCursor: string | null | undefined) => setCursors((list) => [...list, endCursor ?? null]),
    [],
  );
  const reset = useCallback(() => setCursors([null]), []);
  return {
    after: cursors[cursors.length - 1] ?? null,
    page: cursors.length,
    previous,
    next,
    reset,
  };
}

export interface CursorPagerProps {
  pages: CursorPages;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null } | null | undefined;
  /** Show "page N" between the buttons. */
  showPage?: boolean;
}

export function CursorPager({ pages, pageInfo, showPage = false }: CursorPagerProps) {
  const { t } = useTranslation("common");
  return (
    <Space style={{ marginTop: 16 }}>
      <Button disabled={pages.page <= 1} onClick={pages.previous}>
        {t("paging.previous")}
      </Button>
      {showPage ? (
        <Typography.Text>{t("paging.page", { page: pages.page })}</Typography.Text>
      ) : null}
      <Button disabled={!pageInfo?.hasNextPage} onClick={() => pages.next(pageInfo?.endCursor)}>
        {t("paging.next")}
      </Button>
    </Space>
  );
}
