/**
 * The pieces of a page that lists what the API pages by cursor: its title with the "create"
 * button, the filters (a search box, choices) and the table with its pager.
 */
import { PlusOutlined } from "@ant-design/icons";
import { Button, Input, Select, Space, Table, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useEffect, useState } from "react";
import type { CombinedError } from "urql";
import { CursorPager, type CursorPagerProps, type CursorPages } from "./CursorPager";
import { QueryState } from "./QueryState";

/** The page's title and, where the API allows it (`canCreate` not false), its create button. */
export function ListHeader({
  title,
  createLabel,
  canCreate,
  onCreate,
}: {
  title: string;
  createLabel: string;
  canCreate: boolean | undefined;
  onCreate: () => void;
}) {
  return (
    <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
      <Typography.Title level={2}>{title}</Typography.Title>
      {canCreate !== false ? (
        <Button type="primary" icon={<PlusOutlined />} onClick={onCreate}>
          {createLabel}
        </Button>
      ) : null}
    </Space>
  );
}

/** A search box that asks on Enter (or the button) with the trimmed text, null when empty. */
export function SearchFilter({
  label,
  value,
  onSearch,
}: {
  /** Its accessible name and placeholder. */
  label: string;
  value: string | null;
  onSearch: (value: string | null) => void;
}) {
  const [draft, setDraft] = useState(value ?? "");
  useEffect(() => setDraft(value ?? ""), [value]);
  return (
    <Input.Search
      aria-label={label}
      placeholder={label}
      allowClear
      value={draft}
      onChange={(event) => setDraft(event.target.value)}
      onSearch={(text) => onSearch(text.trim() || null)}
      style={{ width: 260 }}
    />
  );
}

/** One of a few values, or any (cleared: null). */
export function ChoiceFilter({
  label,
  placeholder,
  width,
  value,
  options,
  onChange,
}: {
  label: string;
  placeholder: string;
  width: number;
  value: string | null;
  options: { value: string; label: string }[];
  onChange: (value: string | null) => void;
}) {
  return (
    <Select
      aria-label={label}
      allowClear
      placeholder={placeholder}
      style={{ width }}
      value={value ?? undefined}
      onChange={(chosen?: string) => onChange(chosen ?? null)}
      options={options}
    />
  );
}

/** A page of rows through `QueryState`, and the pager under it. */
export function PagedTable<T extends object>({
  testId,
  rowKey,
  fetching,
  error,
  empty,
  rows,
  columns,
  scroll = false,
  pages,
  pageInfo,
}: {
  testId: string;
  rowKey: keyof T & string;
  fetching: boolean;
  error: CombinedError | undefined;
  empty: string;
  rows: T[];
  columns: ColumnsType<T>;
  /** Scroll sideways when the columns are wider than the page. */
  scroll?: boolean;
  pages: CursorPages;
  pageInfo: CursorPagerProps["pageInfo"];
}) {
  return (
    <>
      <QueryState fetching={fetching} error={error} hasData={rows.length > 0} empty={empty}>
        <Table<T>
          data-testid={testId}
          rowKey={rowKey}
          size="small"
          columns={columns}
          dataSource={rows}
          pagination={false}
          scroll={scroll ? { x: true } : undefined}
        />
      </QueryState>
      <CursorPager pages={pages} pageInfo={pageInfo} showPage />
    </>
  );
}
