/** The invitation form's values as `InviteFactoryInput`: blanks left out, not sent as "". */
import type { InviteFactoryInput } from "../../gql/node/graphql";

/** The node's rule for a factory's slug (it names its MQTT topics and device keys). */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export interface InviteValues {
  slug: string;
  name: string;
  organizationId?: string;
  contactName?: string;
  contactPhone?: string;
  contactEmail?: string;
}

function filled(value: string | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

export function inviteInput(values: InviteValues): InviteFactoryInput {
  const contact = {
    name: filled(values.contactName),
    phone: filled(values.contactPhone),
    email: filled(values.contactEmail),
  };
  const input: InviteFactoryInput = {
    slug: values.slug.trim(),
    name: values.name.trim(),
    organizationId: filled(values.organizationId),
  };
  if (contact.name || contact.phone || contact.email) {
    input.contact = contact;
  }
  return input;
}
