/** The contact point form's checks and the API inputs it sends (the node checks them again). */
import type {
  ContactPointKind,
  ContactPointUpdateInput,
  NewContactPointInput,
} from "../../gql/node/graphql";

export const KINDS: ContactPointKind[] = ["WEBHOOK", "WECOM", "DINGTALK", "FEISHU", "EMAIL"];
export const MAX_RECIPIENTS = 20;
export const MAX_SECRET = 200;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface ContactDraft {
  kind?: ContactPointKind;
  name?: string;
  url?: string;
  secret?: string;
  recipients?: string[];
  isDefault?: boolean;
  rotateSecret?: boolean;
}

export interface ContactProblem {
  field: "name" | "url" | "recipients" | "secret";
  key: string;
  values?: Record<string, string | number>;
}

/** `creating`: a new point needs its URL or recipients; an edit keeps what is left empty. */
export function validateContact(draft: ContactDraft, creating: boolean): ContactProblem[] {
  const problems: ContactProblem[] = [];
  const name = (draft.name ?? "").trim();
  if (name.length < 1 || name.length > 200) problems.push({ field: "name", key: "name" });
  const kind = draft.kind ?? "WEBHOOK";
  if (kind === "EMAIL") {
    const recipients = draft.recipients ?? [];
    if (
      (creating || recipients.length) &&
      (recipients.length < 1 || recipients.length > MAX_RECIPIENTS)
    )
      problems.push({ field: "recipients", key: "recipients", values: { max: MAX_RECIPIENTS } });
    const wrong = recipients.find((address) => !EMAIL.test(address));
    if (wrong) problems.push({ field: "recipients", key: "email", values: { address: wrong } });
  } else {
    const url = (draft.url ?? "").trim();
    if (creating && !url) problems.push({ field: "url", key: "urlRequired" });
    else if (url && !/^https?:\/\/[^/\s]+/i.test(url)) problems.push({ field: "url", key: "url" });
  }
  const secret = draft.secret ?? "";
  if (secret && (secret.length < 8 || secret.length > MAX_SECRET))
    problems.push({ field: "secret", key: "secret", values: { max: MAX_SECRET } });
  return problems;
}

export function toCreateInput(draft: ContactDraft, factoryId: string | null): NewContactPointInput {
  const kind = draft.kind ?? "WEBHOOK";
  return {
    kind,
    name: (draft.name ?? "").trim(),
    factoryId,
    url: kind === "EMAIL" ? null : (draft.url ?? "").trim() || null,
    secret: kind === "DINGTALK" || kind === "FEISHU" ? draft.secret || null : null,
    recipients: kind === "EMAIL" ? (draft.recipients ?? []) : null,
    isDefault: draft.isDefault ?? false,
  };
}

/** Only what was given changes; an empty URL, secret or recipient list keeps the old one. */
export function toUpdateInput(draft: ContactDraft): ContactPointUpdateInput {
  const kind = draft.kind ?? "WEBHOOK";
  return {
    name: (draft.name ?? "").trim(),
    url: kind === "EMAIL" ? null : (draft.url ?? "").trim() || null,
    secret: kind === "DINGTALK" || kind === "FEISHU" ? draft.secret || null : null,
    recipients: kind === "EMAIL" && draft.recipients?.length ? draft.recipients : null,
    isDefault: draft.isDefault ?? false,
    rotateSecret: kind === "WEBHOOK" ? (draft.rotateSecret ?? false) : false,
  };
}
