/** What the onboarding of a factory allows from each status, as the node's service moves it. */
import type { Capabilities } from "../../auth/useViewer";
import type { FactoryStatus, FactoryTransition } from "../../gql/node/graphql";

export const FACTORY_STATUSES: FactoryStatus[] = [
  "INVITED",
  "SUBMITTED",
  "VERIFIED",
  "ACTIVE",
  "REJECTED",
  "SUSPENDED",
];

export const STATUS_COLORS: Record<FactoryStatus, string> = {
  INVITED: "default",
  SUBMITTED: "processing",
  // A solid dark cyan: antd's preset cyan text is too pale on its background (WCAG AA).
  VERIFIED: "#006d75",
  ACTIVE: "success",
  REJECTED: "error",
  SUSPENDED: "warning",
};

interface Move {
  from: FactoryStatus[];
  /** The capability that stands for the permission the transition asks. */
  needs: "manageFactories" | "editFactoryProfile";
  reason: boolean;
  danger: boolean;
}

export const MOVES: Record<FactoryTransition, Move> = {
  SUBMIT: {
    from: ["INVITED", "REJECTED"],
    needs: "editFactoryProfile",
    reason: false,
    danger: false,
  },
  VERIFY: { from: ["SUBMITTED"], needs: "manageFactories", reason: false, danger: false },
  ACTIVATE: { from: ["VERIFIED"], needs: "manageFactories", reason: false, danger: false },
  REJECT: {
    from: ["SUBMITTED", "VERIFIED"],
    needs: "manageFactories",
    reason: true,
    danger: true,
  },
  SUSPEND: { from: ["ACTIVE"], needs: "manageFactories", reason: true, danger: true },
  REACTIVATE: { from: ["SUSPENDED"], needs: "manageFactories", reason: false, danger: false },
};

const ORDER: FactoryTransition[] = [
  "SUBMIT",
  "VERIFY",
  "ACTIVATE",
  "REACTIVATE",
  "REJECT",
  "SUSPEND",
];

/** The transitions the status admits and the viewer may ask for (`can` true, not unknown). */
export function availableTransitions(
  status: FactoryStatus,
  can: Readonly<Partial<Capabilities>>,
): FactoryTransition[] {
  return ORDER.filter((transition) => {
    const move = MOVES[transition];
    return move.from.includes(status) && can[move.needs] === true;
  });
}

export function isFactoryStatus(value: string | null | undefined): value is FactoryStatus {
  return FACTORY_STATUSES.includes(value as FactoryStatus);
}
