import { Alert, Empty, Skeleton } from "antd";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import type { CombinedError } from "urql";

export interface ApiErrorInfo {
  message: string;
  code: string | null;
}

/** The API's own message and `extensions.code` (the first GraphQL error), or the network's. */
export function describeError(error: CombinedError): ApiErrorInfo {
  const first = error.graphQLErrors[0];
  if (first) {
    const code = first.extensions?.code;
    return { message: first.message, code: typeof code === "string" ? code : null };
  }
  const status = (error.response as Response | undefined)?.status;
  return {
    message: error.networkError?.message ?? error.message,
    code: status ? `HTTP_${status}` : "NETWORK_ERROR",
  };
}

export function ErrorNotice({ error, title }: { error: CombinedError; title?: string }) {
  const { t } = useTranslation();
  const { message, code } = describeError(error);
  return (
    <Alert
      type="error"
      showIcon
      title={title ?? t("state.error")}
      description={
        <>
          {message}
          {code ? (
            <>
              {" "}
              <code>{code}</code>
            </>
          ) : null}
        </>
      }
    />
  );
}

export interface QueryStateProps {
  fetching: boolean;
  error?: CombinedError | undefined;
  /** Whether there is data to show; false with no error and not fetching shows the empty state. */
  hasData: boolean;
  empty?: ReactNode;
  /** Skeleton rows while loading the first time. */
  rows?: number;
  children: ReactNode;
}

/**
 * Loading, error and empty states around a query's result. Data already on screen stays while
 * it is fetched again; an error is shown above it.
 */
export function QueryState({
  fetching,
  error,
  hasData,
  empty,
  rows = 3,
  children,
}: QueryStateProps) {
  const { t } = useTranslation();
  if (!hasData && fetching) {
    return <Skeleton active paragraph={{ rows }} aria-busy="true" />;
  }
  if (!hasData && error) {
    return <ErrorNotice error={error} />;
  }
  if (!hasData) {
    return <Empty description={empty ?? t("state.empty")} />;
  }
  return (
    <>
      {error ? <ErrorNotice error={error} /> : null}
      {children}
    </>
  );
}
