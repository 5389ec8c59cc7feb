import { createContext, type ReactNode, useContext, useMemo } from "react";
import { useQuery } from "urql";
import type { HubViewerQuery } from "../gql/hub/graphql";
import { graphql } from "../gql/node";
import type { ViewerQuery } from "../gql/node/graphql";
import { HubViewerDocument } from "../hub/viewer";
import { useAuth } from "./AuthContext";
import { decodeClaims } from "./claims";

/**
 * Who is signed in and what they may do. What they may do (`can`) is the node's answer
 * (`viewer { can }`, asked of the same policy as the real operations); the UI derives nothing
 * from roles or scopes. Until the answer is there (`loaded` false) every capability is unknown
 * (undefined): hide nothing on a guess, and a refusal the API still gives is shown as such.
 * Name, email, subject and organization are shown from the tokens until the API's answer.
 */
export type NodeCapabilities = Omit<ViewerQuery["viewer"]["can"], "__typename">;
export type HubCapabilities = Omit<HubViewerQuery["viewer"]["can"], "__typename">;
/** The node's capabilities on a node's console, the hub's on the hub's (both `false`-safe). */
export type Capabilities = NodeCapabilities & HubCapabilities;
export type Capability = keyof Capabilities;
export type ViewerFactory = ViewerQuery["viewer"]["factories"][number];

export interface Viewer {
  signedIn: boolean;
  /** Whether `can` (and the rest) came from the API. */
  loaded: boolean;
  kind: string | null;
  subject: string | null;
  name: string | null;
  email: string | null;
  organization: string | null;
  organizationKind: string | null;
  roles: string[];
  scopes: string[];
  /** The caller's own factories on this node (a factory's people); empty for anyone else and
   * on the hub. */
  factories: ViewerFactory[];
  can: Readonly<Partial<Capabilities>>;
}

export const ViewerDocument = graphql(`
  query Viewer {
    viewer {
      kind
      subject
      name
      email
      organizationId
      organizationKind
      roles
      scopes
      factories {
        id
        slug
        name
      }
      can {
          readOverview
          readFactories
          manageFactories
          editFactoryProfile
          readDevices
          provisionDevices
          readDeadLetters
          readAlerts
          respondToAlerts
          manageAlerts
          manageContactPoints
          readOrders
          placeOrders
          planOrders
          importRoutings
          reportWork
          readSchedules
          manageSchedules
          readVision
          manageVision
          trainVisionModels
          readVisionImages
          readAudit
          readDataProducts
          readInstallations
      }
    }
  }
`);

const NOBODY: Viewer = {
  signedIn: false,
  loaded: false,
  kind: null,
  subject: null,
  name: null,
  email: null,
  organization: null,
  organizationKind: null,
  roles: [],
  scopes: [],
  factories: [],
  can: {},
};

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** The person from the tokens (display only) and, once answered, from the API. */
/** The viewer as either service answers it, in one shape. */
export interface ApiViewer {
  kind: string;
  subject?: string | null;
  name?: string | null;
  email?: string | null;
  organizationId?: string | null;
  organizationKind?: string | null;
  roles: string[];
  scopes: string[];
  factories: ViewerFactory[];
  can: Partial<Capabilities>;
}

function fromHub(viewer: HubViewerQuery["viewer"]): ApiViewer {
  return { ...viewer, subject: viewer.id, factories: [] };
}

export function buildViewer(
  accessToken: string | null,
  idToken: string | null,
  api: ApiViewer | null | undefined,
): Viewer {
  if (!accessToken) {
    return NOBODY;
  }
  const access = decodeClaims(accessToken);
  const id = idToken ? decodeClaims(idToken) : {};
  const fromTokens: Viewer = {
    signedIn: true,
    loaded: false,
    kind: null,
    subject: text(access.sub) ?? text(id.sub),
    name: text(id.name) ?? text(access.name),
    email: text(id.email) ?? text(access.email),
    organization: text(access.org) ?? text(id.org),
    organizationKind: text(access.org_kind),
    roles: [],
    scopes: [],
    factories: [],
    can: {},
  };
  if (!api) {
    return fromTokens;
  }
  return {
    signedIn: true,
    loaded: true,
    kind: api.kind,
    subject: api.subject ?? fromTokens.subject,
    name: api.name ?? fromTokens.name,
    email: api.email ?? fromTokens.email,
    organization: api.organizationId ?? fromTokens.organization,
    organizationKind: api.organizationKind ?? fromTokens.organizationKind,
    roles: api.roles,
    scopes: api.scopes,
    factories: api.factories,
    can: api.can,
  };
}

const ViewerContext = createContext<ApiViewer | null>(null);

/** Asks the serving node or hub who the signed-in person is, once per sign-in (inside the
 * urql Provider). */
export function ViewerProvider({ children }: { children: ReactNode }) {
  const { tokens, config } = useAuth();
  const hub = config.service === "hub";
  const [node] = useQuery({ query: ViewerDocument, pause: !tokens || hub });
  const [atHub] = useQuery({ query: HubViewerDocument, pause: !tokens || !hub });
  const api = useMemo(
    () => (hub ? (atHub.data ? fromHub(atHub.data.viewer) : null) : (node.data?.viewer ?? null)),
    [hub, atHub.data, node.data],
  );
  return <ViewerContext.Provider value={api}>{children}</ViewerContext.Provider>;
}

export function useViewer(): Viewer {
  const { tokens } = useAuth();
  const api = useContext(ViewerContext);
  return useMemo(
    () => buildViewer(tokens?.accessToken ?? null, tokens?.idToken ?? null, api),
    [tokens, api],
  );
}
