import { graphql } from "../../gql/hub";

export const NodeFields = graphql(`
  fragment HubNodeFields on RegionalNode {
    name
    region
    industry
    status
    lastHeartbeat
    registeredAt
    version
  }
`);

export const HubNodesQuery = graphql(`
  query HubNodes($first: Int!, $after: String, $filter: RegionalNodeFilter) {
    regionalNodes(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...HubNodeFields
        }
      }
    }
  }
`);

/** How many nodes there are in a status: counts stay right however many nodes there are. */
export const HubNodeCountQuery = graphql(`
  query HubNodeCount($filter: RegionalNodeFilter) {
    regionalNodes(first: 1, filter: $filter) {
      totalCount
    }
  }
`);

export const HubNodeQuery = graphql(`
  query HubNode($name: String!) {
    regionalNode(name: $name) {
      ...HubNodeFields
    }
  }
`);

/** Asked on its own: the policy may refuse the URL while the rest of the node shows. */
export const HubNodeUrlQuery = graphql(`
  query HubNodeUrl($name: String!) {
    regionalNode(name: $name) {
      name
      baseUrl
    }
  }
`);

export const HubNodeProductsQuery = graphql(`
  query HubNodeProducts($node: String!, $first: Int!, $after: String) {
    dataProducts(node: $node, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          key
          title
          industry
          updateFrequency
          live
          rowCount
          syncSeq
          dataUpdatedAt
          offers {
            id
            status
          }
        }
      }
    }
  }
`);

export const HubNodeInstallationsQuery = graphql(`
  query HubNodeInstallations($node: String!, $first: Int!, $after: String) {
    marketInstallations(node: $node, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          status
          pinned
          detail
          createdAt
          updatedAt
          release {
            id
            version
            manifestFields {
              name
              title
              kind
            }
          }
        }
      }
    }
  }
`);

export const ChangeNodeUrlMutation = graphql(`
  mutation HubChangeNodeUrl($name: String!, $baseUrl: String!) {
    changeRegionalNodeUrl(name: $name, baseUrl: $baseUrl) {
      name
      baseUrl
    }
  }
`);

export const NodeEventsSubscription = graphql(`
  subscription HubNodeEvents {
    regionalNodeEvents {
      kind
      at
      node {
        ...HubNodeFields
      }
    }
  }
`);
