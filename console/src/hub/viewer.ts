import { graphql } from "../gql/hub";

/**
 * Who the hub takes the signed-in person to be and what its policy lets them do
 * (`viewer { can }`): the hub's pages show menus and buttons from this, as the node's do from
 * the node's answer (src/auth/useViewer.tsx).
 */
export const HubViewerDocument = graphql(`
  query HubViewer {
    viewer {
      kind
      id
      name
      email
      organizationId
      organizationKind
      roles
      scopes
      can {
        readNodes
        moveNodes
        readOrganizations
        createOrganizations
        readUsers
        manageUsers
        createClients
        readClients
        manageClients
        rotateKeys
        revokeTokens
        readAudit
        readCatalog
        publishOffers
        requestContracts
        decideContracts
        readContracts
        queryData
        readBoard
        postToBoard
        readMarket
        publishReleases
        manageMarketKeys
        reviewReleases
        grantEntitlements
        installToNodes
        readFederated
        runFederated
        readModels
      }
    }
  }
`);
