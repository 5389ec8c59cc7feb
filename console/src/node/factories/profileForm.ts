/**
 * The profile form's values from a factory and back to `FactoryProfileInput`: blanks become
 * null (not ""), lists are trimmed and de-duplicated, and an equipment line keeps the key
 * parameters the form does not edit.
 */
import type { FactoryProfileInput } from "../../gql/node/graphql";
import { isIsoDay } from "./capacity";

export interface ProfileSource {
  name: string;
  location: {
    address?: string | null;
    city?: string | null;
    region?: string | null;
    lat?: number | null;
    lon?: number | null;
    timeZone?: string | null;
  };
  contact: { name?: string | null; phone?: string | null; email?: string | null };
  skills: string[];
  products: string[];
  certifications: { name: string; issuer?: string | null; validUntil?: string | null }[];
  equipment: { type: string; model: string; count: number; parameters: unknown }[];
}

export interface ProfileValues {
  name: string;
  address?: string;
  city?: string;
  region?: string;
  lat?: number | null;
  lon?: number | null;
  timeZone?: string;
  contactName?: string;
  phone?: string;
  email?: string;
  skills: string[];
  products: string[];
  certifications: { name?: string; issuer?: string; validUntil?: string }[];
  equipment: { type?: string; model?: string; count?: number | null; parameters?: unknown }[];
}

/** ISO 3166-2: the country, a hyphen, then one to three letters or digits (CN-GD, CN-ZJ). */
export const REGION_PATTERN = /^[A-Z]{2}-[A-Z0-9]{1,3}$/;
export const EQUIPMENT_TYPE_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function text(value: string | null | undefined): string {
  return value ?? "";
}

function filled(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

function number(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function words(values: readonly string[]): string[] {
  return [...new Set(values.map((value) => value.trim()).filter(Boolean))];
}

export function profileValues(factory: ProfileSource): ProfileValues {
  return {
    name: factory.name,
    address: text(factory.location.address),
    city: text(factory.location.city),
    region: text(factory.location.region),
    lat: factory.location.lat ?? null,
    lon: factory.location.lon ?? null,
    timeZone: text(factory.location.timeZone),
    contactName: text(factory.contact.name),
    phone: text(factory.contact.phone),
    email: text(factory.contact.email),
    skills: [...factory.skills],
    products: [...factory.products],
    certifications: factory.certifications.map((cert) => ({
      name: cert.name,
      issuer: text(cert.issuer),
      validUntil: text(cert.validUntil),
    })),
    equipment: factory.equipment.map((item) => ({
      type: item.type,
      model: item.model,
      count: item.count,
      parameters: item.parameters,
    })),
  };
}

export function profileInput(values: ProfileValues): FactoryProfileInput {
  return {
    name: values.name.trim(),
    location: {
      address: filled(values.address),
      city: filled(values.city),
      region: filled(values.region)?.toUpperCase() ?? null,
      lat: number(values.lat),
      lon: number(values.lon),
      timeZone: filled(values.timeZone),
    },
    contact: {
      name: filled(values.contactName),
      phone: filled(values.phone),
      email: filled(values.email),
    },
    skills: words(values.skills ?? []),
    products: words(values.products ?? []),
    certifications: (values.certifications ?? [])
      .filter((cert) => filled(cert.name))
      .map((cert) => ({
        name: filled(cert.name) as string,
        issuer: filled(cert.issuer),
        validUntil: isIsoDay(filled(cert.validUntil)) ? filled(cert.validUntil) : null,
      })),
    equipment: (values.equipment ?? [])
      .filter((item) => filled(item.type) && filled(item.model))
      .map((item) => ({
        type: filled(item.type) as string,
        model: filled(item.model) as string,
        count: Math.max(1, Math.round(number(item.count) ?? 1)),
        parameters: item.parameters && typeof item.parameters === "object" ? item.parameters : null,
      })),
  };
}

/** What submitting still needs, as the node checks it (keys of the `profile.missing` strings). */
export function missingForSubmission(factory: ProfileSource): string[] {
  const missing: string[] = [];
  if (!filled(factory.location.address) || !filled(factory.location.region)) {
    missing.push("location");
  }
  if (
    !filled(factory.contact.name) ||
    !(filled(factory.contact.phone) || filled(factory.contact.email))
  ) {
    missing.push("contact");
  }
  if (factory.equipment.length === 0) missing.push("equipment");
  if (factory.products.length === 0) missing.push("products");
  return missing;
}
