/**
 * Pure shaping for the C2M editing screens: stock on hand, a product's planning rules, and a
 * configurable product (options, values, routing changes, bills of materials) from its form to
 * the API's input and back. The checks mirror the node's (regional_node/demand/configuration.py
 * and service.py) so that a form says what is wrong before it is sent; the API still decides,
 * and its refusal is shown as it comes.
 */

/** A problem with a form: where (a dotted path such as `options.0.values.1.value`) and an
 * i18n key of the `demand` namespace under `edit.errors`, with its values. */
export interface FormProblem {
  path: string;
  key: string;
  values?: Record<string, string | number>;
}

export const SERVICE_LEVELS = [0.5, 0.8, 0.9, 0.95] as const;
export const OPTION_KINDS = ["COLOUR", "MATERIAL", "SIZE", "PERSONALISATION"] as const;
export const CHANGE_OPS = ["ADD", "REMOVE", "CHANGE"] as const;
export const MAX_LOT = 1_000_000;
export const MAX_FROZEN_WEEKS = 26;
export const MAX_STOCK = 1e12;
const MAX_OPTIONS = 8;
const MAX_VALUES = 50;
const MAX_CHANGES = 20;
const MAX_BOM = 100;
const SLUG = /^[a-z0-9][a-z0-9-]{0,39}$/;
const ITEM = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;

export type OptionKind = (typeof OPTION_KINDS)[number];
export type ChangeOp = (typeof CHANGE_OPS)[number];

// --- stock ----------------------------------------------------------------------------------

export interface StockLevel {
  skuId: string;
  onHand: number;
}

/** The stock levels to send: only the SKUs whose figure changed, each checked (0 or more, at
 * most 1e12 units). A blank figure is a problem, not a zero. */
export function stockChanges(
  skus: readonly { id: string; code: string; stockOnHand: number }[],
  edited: Readonly<Record<string, number | null | undefined>>,
): { stock: StockLevel[]; problems: FormProblem[] } {
  const stock: StockLevel[] = [];
  const problems: FormProblem[] = [];
  for (const sku of skus) {
    if (!(sku.id in edited)) continue;
    const value = edited[sku.id];
    if (value === null || value === undefined || !Number.isFinite(value)) {
      problems.push({ path: sku.id, key: "stockMissing", values: { sku: sku.code } });
    } else if (value < 0 || value > MAX_STOCK) {
      problems.push({ path: sku.id, key: "stockRange", values: { sku: sku.code } });
    } else if (value !== sku.stockOnHand) {
      stock.push({ skuId: sku.id, onHand: value });
    }
  }
  if (stock.length === 0 && problems.length === 0) {
    problems.push({ path: "", key: "nothingChanged" });
  }
  return { stock, problems };
}

// --- planning rules -------------------------------------------------------------------------

export interface Rules {
  serviceLevel: number;
  frozenWeeks: number;
  minLot: number;
  lotMultiple: number;
  /** Proposals up to this many units are accepted as a plan makes them; null: none. */
  autoAcceptUpTo: number | null;
}

export interface RulesUpdate {
  /** updateProduct's input: the planning figures that changed (the brand's or operator's). */
  update: Partial<Omit<Rules, "autoAcceptUpTo">> | null;
  /** setAutoAccept's `upTo` when it changed (the operator's rule). */
  autoAccept: { upTo: number | null } | null;
  problems: FormProblem[];
}

function wholeIn(value: number | null | undefined, low: number, high: number): boolean {
  return (
    value !== null &&
    value !== undefined &&
    Number.isInteger(value) &&
    value >= low &&
    value <= high
  );
}

/** What to send for a product's rules: checked, and only what changed. */
export function rulesUpdate(current: Rules, form: Rules): RulesUpdate {
  const problems: FormProblem[] = [];
  if (!(SERVICE_LEVELS as readonly number[]).includes(form.serviceLevel)) {
    problems.push({ path: "serviceLevel", key: "serviceLevel" });
  }
  if (!wholeIn(form.frozenWeeks, 0, MAX_FROZEN_WEEKS)) {
    problems.push({ path: "frozenWeeks", key: "frozenWeeks", values: { max: MAX_FROZEN_WEEKS } });
  }
  for (const field of ["minLot", "lotMultiple"] as const) {
    if (!wholeIn(form[field], 1, MAX_LOT)) {
      problems.push({ path: field, key: "lot", values: { max: MAX_LOT } });
    }
  }
  if (form.autoAcceptUpTo !== null && !wholeIn(form.autoAcceptUpTo, 1, MAX_LOT * 10)) {
    problems.push({ path: "autoAcceptUpTo", key: "autoAccept", values: { max: MAX_LOT * 10 } });
  }
  if (problems.length > 0) return { update: null, autoAccept: null, problems };
  const update: Partial<Omit<Rules, "autoAcceptUpTo">> = {};
  for (const field of ["serviceLevel", "frozenWeeks", "minLot", "lotMultiple"] as const) {
    if (form[field] !== current[field]) update[field] = form[field];
  }
  const changed = Object.keys(update).length > 0;
  const autoAccept =
    form.autoAcceptUpTo !== current.autoAcceptUpTo ? { upTo: form.autoAcceptUpTo } : null;
  if (!changed && autoAccept === null) {
    return { update: null, autoAccept: null, problems: [{ path: "", key: "nothingChanged" }] };
  }
  return { update: changed ? update : null, autoAccept, problems };
}

// --- configurable products -------------------------------------------------------------------

export interface BomForm {
  item: string;
  quantity: number | null;
  unit: string;
}

export interface ChangeForm {
  op: ChangeOp;
  step: string;
  name?: string;
  process?: string;
  equipment?: string;
  /** Comma-separated. */
  skills?: string;
  /** Comma-separated step ids. */
  after?: string;
  hoursPerUnit?: number | null;
  unitCost?: number | null;
  yield?: number | null;
  lagDays?: number | null;
  /** Kept as read (not edited here). */
  parameters?: { name: string; minimum: number }[] | null;
}

export interface ValueForm {
  value: string;
  routing: ChangeForm[];
  bom: BomForm[];
}

export interface OptionForm {
  name: string;
  kind: OptionKind;
  values: ValueForm[];
}

export interface ProductForm {
  slug: string;
  name: string;
  baseProduct: string;
  minLot: number;
  lotMultiple: number;
  serviceLevel: number;
  frozenWeeks: number;
  bom: BomForm[];
  options: OptionForm[];
}

export interface BomLineInput {
  item: string;
  quantity: number;
  unit: string;
}

export interface StepPatchInput {
  name?: string;
  process?: string;
  equipment?: string;
  skills?: string[];
  after?: string[];
  hoursPerUnit?: number;
  unitCost?: number;
  yield?: number;
  lagDays?: number;
  parameters?: { name: string; minimum: number }[];
}

export interface ChangeInput {
  op: ChangeOp;
  step: string;
  set?: StepPatchInput;
}

export interface OptionInput {
  name: string;
  kind: OptionKind;
  values: { value: string; routing: ChangeInput[]; bom: BomLineInput[] }[];
}

export interface ProductInput {
  slug: string;
  name: string;
  baseProduct: string;
  minLot: number;
  lotMultiple: number;
  serviceLevel: number;
  frozenWeeks: number;
  bom: BomLineInput[];
  options: OptionInput[];
}

/** A product as the API reads it (the fields the form needs). */
export interface ProductRead {
  slug: string;
  name: string;
  baseProduct: string;
  minLot: number;
  lotMultiple: number;
  serviceLevel: number;
  frozenWeeks: number;
  bom: readonly { item: string; quantity: number; unit: string }[];
  options: readonly {
    name: string;
    kind: string;
    values: readonly {
      value: string;
      routing: readonly {
        op: string;
        step: string;
        set?: {
          name?: string | null;
          process?: string | null;
          equipment?: string | null;
          skills?: readonly string[] | null;
          after?: readonly string[] | null;
          hoursPerUnit?: number | null;
          unitCost?: number | null;
          yield?: number | null;
          lagDays?: number | null;
          parameters?: readonly { name: string; minimum: number }[] | null;
        } | null;
      }[];
      bom: readonly { item: string; quantity: number; unit: string }[];
    }[];
  }[];
}

export function emptyProduct(): ProductForm {
  return {
    slug: "",
    name: "",
    baseProduct: "",
    minLot: 1,
    lotMultiple: 1,
    serviceLevel: 0.9,
    frozenWeeks: 2,
    bom: [],
    options: [],
  };
}

const list = (values: readonly string[] | null | undefined) => (values ?? []).join(", ");

/** The form for a product read from the API. */
export function productForm(product: ProductRead): ProductForm {
  return {
    slug: product.slug,
    name: product.name,
    baseProduct: product.baseProduct,
    minLot: product.minLot,
    lotMultiple: product.lotMultiple,
    serviceLevel: product.serviceLevel,
    frozenWeeks: product.frozenWeeks,
    bom: product.bom.map((line) => ({ ...line })),
    options: product.options.map((option) => ({
      name: option.name,
      kind: (OPTION_KINDS as readonly string[]).includes(option.kind)
        ? (option.kind as OptionKind)
        : "COLOUR",
      values: option.values.map((value) => ({
        value: value.value,
        bom: value.bom.map((line) => ({ ...line })),
        routing: value.routing.map((change) => ({
          op: change.op as ChangeOp,
          step: change.step,
          name: change.set?.name ?? undefined,
          process: change.set?.process ?? undefined,
          equipment: change.set?.equipment ?? undefined,
          skills: change.set?.skills ? list(change.set.skills) : undefined,
          after: change.set?.after ? list(change.set.after) : undefined,
          hoursPerUnit: change.set?.hoursPerUnit ?? null,
          unitCost: change.set?.unitCost ?? null,
          yield: change.set?.yield ?? null,
          lagDays: change.set?.lagDays ?? null,
          parameters: change.set?.parameters ? change.set.parameters.map((p) => ({ ...p })) : null,
        })),
      })),
    })),
  };
}

function split(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

function bomLines(
  lines: readonly BomForm[],
  path: string,
  problems: FormProblem[],
): BomLineInput[] {
  if (lines.length > MAX_BOM) problems.push({ path, key: "tooMany", values: { max: MAX_BOM } });
  const seen = new Set<string>();
  const out: BomLineInput[] = [];
  lines.forEach((line, index) => {
    const at = `${path}.${index}`;
    const item = line.item.trim();
    if (!ITEM.test(item)) problems.push({ path: `${at}.item`, key: "item" });
    else if (seen.has(item))
      problems.push({ path: `${at}.item`, key: "twice", values: { name: item } });
    seen.add(item);
    const quantity = line.quantity;
    if (quantity === null || !Number.isFinite(quantity) || quantity < 0 || quantity > 1e6) {
      problems.push({ path: `${at}.quantity`, key: "quantity" });
    }
    const unit = line.unit.trim() || "pcs";
    if (unit.length > 16) problems.push({ path: `${at}.unit`, key: "unit" });
    out.push({ item, quantity: quantity ?? 0, unit });
  });
  return out;
}

function number(value: number | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : value;
}

function changeInput(change: ChangeForm, at: string, problems: FormProblem[]): ChangeInput {
  const step = change.step.trim();
  if (!SLUG.test(step)) problems.push({ path: `${at}.step`, key: "step" });
  if (change.op === "REMOVE") return { op: "REMOVE", step };
  const set: StepPatchInput = {};
  const text = { name: change.name, process: change.process, equipment: change.equipment };
  for (const [key, value] of Object.entries(text)) {
    const trimmed = value?.trim();
    if (trimmed) set[key as "name" | "process" | "equipment"] = trimmed;
  }
  const skills = split(change.skills);
  if (skills) set.skills = skills;
  const after = split(change.after);
  if (after) set.after = after;
  const figures = {
    hoursPerUnit: number(change.hoursPerUnit),
    unitCost: number(change.unitCost),
    yield: number(change.yield),
    lagDays: number(change.lagDays),
  };
  for (const [key, value] of Object.entries(figures)) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0 || (key === "yield" && (value <= 0 || value > 1))) {
      problems.push({ path: `${at}.${key}`, key: key === "yield" ? "yield" : "figure" });
    }
    set[key as keyof typeof figures] = value;
  }
  if (change.parameters && change.parameters.length > 0) set.parameters = change.parameters;
  if (change.op === "ADD" && !set.process) {
    problems.push({ path: `${at}.process`, key: "addProcess" });
  }
  if (change.op === "CHANGE" && Object.keys(set).length === 0) {
    problems.push({ path: `${at}.set`, key: "changeNothing" });
  }
  return { op: change.op, step, set };
}

/** The product's input for createProduct (and, less its slug, updateProduct), or the problems
 * that keep it from being sent, each at its field. */
export function productInput(form: ProductForm): {
  input: ProductInput | null;
  problems: FormProblem[];
} {
  const problems: FormProblem[] = [];
  const slug = form.slug.trim();
  if (!SLUG.test(slug)) problems.push({ path: "slug", key: "slug" });
  const name = form.name.trim();
  if (name === "" || name.length > 200) problems.push({ path: "name", key: "name" });
  const baseProduct = form.baseProduct.trim();
  if (baseProduct === "" || baseProduct.length > 63) {
    problems.push({ path: "baseProduct", key: "baseProduct" });
  }
  const rules = rulesUpdate(
    { ...form, autoAcceptUpTo: null, serviceLevel: -1 },
    { ...form, autoAcceptUpTo: null },
  );
  problems.push(...rules.problems.filter((p) => p.key !== "nothingChanged"));
  const bom = bomLines(form.bom, "bom", problems);
  if (form.options.length > MAX_OPTIONS) {
    problems.push({ path: "options", key: "tooMany", values: { max: MAX_OPTIONS } });
  }
  const names = new Set<string>();
  const options: OptionInput[] = form.options.map((option, o) => {
    const at = `options.${o}`;
    const optionName = option.name.trim();
    if (!SLUG.test(optionName)) problems.push({ path: `${at}.name`, key: "slug" });
    else if (names.has(optionName)) {
      problems.push({ path: `${at}.name`, key: "twice", values: { name: optionName } });
    }
    names.add(optionName);
    if (!(OPTION_KINDS as readonly string[]).includes(option.kind)) {
      problems.push({ path: `${at}.kind`, key: "kind" });
    }
    if (option.values.length < 1 || option.values.length > MAX_VALUES) {
      problems.push({ path: `${at}.values`, key: "values", values: { max: MAX_VALUES } });
    }
    const seen = new Set<string>();
    return {
      name: optionName,
      kind: option.kind,
      values: option.values.map((value, v) => {
        const vAt = `${at}.values.${v}`;
        const text = value.value.trim();
        if (!SLUG.test(text)) problems.push({ path: `${vAt}.value`, key: "slug" });
        else if (seen.has(text)) {
          problems.push({ path: `${vAt}.value`, key: "twice", values: { name: text } });
        }
        seen.add(text);
        if (value.routing.length > MAX_CHANGES) {
          problems.push({ path: `${vAt}.routing`, key: "tooMany", values: { max: MAX_CHANGES } });
        }
        return {
          value: text,
          routing: value.routing.map((change, c) =>
            changeInput(change, `${vAt}.routing.${c}`, problems),
          ),
          // A value's line of quantity 0 takes the base's line of that item out.
          bom: bomLines(value.bom, `${vAt}.bom`, problems),
        };
      }),
    };
  });
  if (problems.length > 0) return { input: null, problems };
  return {
    input: {
      slug,
      name,
      baseProduct,
      minLot: form.minLot,
      lotMultiple: form.lotMultiple,
      serviceLevel: form.serviceLevel,
      frozenWeeks: form.frozenWeeks,
      bom,
      options,
    },
    problems,
  };
}

/** updateProduct's input from a checked product input: everything but the slug (fixed once
 * made) and the brand. */
export function productChanges(input: ProductInput): Omit<ProductInput, "slug"> {
  const { slug: _slug, ...changes } = input;
  return changes;
}

/** The problems of one field and those below it, for showing beside it. */
export function problemsAt(problems: readonly FormProblem[], path: string): FormProblem[] {
  return problems.filter((p) => p.path === path || p.path.startsWith(`${path}.`));
}

// --- sales feeds ----------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const MIN_EVERY_MINUTES = 5;
export const MAX_EVERY_MINUTES = 7 * 24 * 60;

/** subscribeSalesFeed's arguments: the agreement's id at the hub (a UUID, as the hub's contract
 * page shows it) and, when the feed is pulled in the background, how often. */
export function feedSubscription(
  contractId: string,
  everyMinutes: number | null,
): { input: { contractId: string; everyMinutes: number | null } | null; problems: FormProblem[] } {
  const problems: FormProblem[] = [];
  const id = contractId.trim();
  if (!UUID.test(id)) problems.push({ path: "contractId", key: "contractId" });
  if (everyMinutes !== null && !wholeIn(everyMinutes, MIN_EVERY_MINUTES, MAX_EVERY_MINUTES)) {
    problems.push({
      path: "everyMinutes",
      key: "everyMinutes",
      values: { min: MIN_EVERY_MINUTES, max: MAX_EVERY_MINUTES },
    });
  }
  if (problems.length > 0) return { input: null, problems };
  return { input: { contractId: id.toLowerCase(), everyMinutes }, problems };
}
