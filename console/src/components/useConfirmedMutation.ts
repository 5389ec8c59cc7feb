import { App } from "antd";
import type { CombinedError } from "urql";

export interface ConfirmedMutation<R extends { error?: CombinedError | undefined }> {
  title: string;
  content: string;
  okText: string;
  /** The mutation, run once the person confirms. */
  run: () => Promise<R>;
  /** What follows when the API did it (a refusal goes to `onError` instead). */
  onSuccess: (result: R) => void;
}

/**
 * A confirmation dialog that runs a mutation on OK: the API's refusal goes to `onError`, its
 * answer to `onSuccess`.
 */
export function useConfirmedMutation(
  cancelText: string,
  onError: (error: CombinedError) => void,
): <R extends { error?: CombinedError | undefined }>(action: ConfirmedMutation<R>) => void {
  const { modal } = App.useApp();
  return ({ title, content, okText, run, onSuccess }) => {
    modal.confirm({
      title,
      content,
      okText,
      cancelText,
      onOk: async () => {
        const result = await run();
        if (result.error) return onError(result.error);
        onSuccess(result);
      },
    });
  };
}
