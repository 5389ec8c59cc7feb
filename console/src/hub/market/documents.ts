import { graphql } from "../../gql/hub";

export const MarketSearchQuery = graphql(`
  query MarketSearch(
    $search: String
    $kind: String
    $industry: String
    $license: String
    $verifiedOnly: Boolean!
    $first: Int!
    $after: String
  ) {
    marketListings(
      search: $search
      kind: $kind
      industry: $industry
      license: $license
      verifiedOnly: $verifiedOnly
      first: $first
      after: $after
    ) {
      listings {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            slug
            kind
            title
            summary
            industry
            tags
            latestVersion
            license
            verified
            free
            ratingCount
            ratingAverage
            updatedAt
          }
        }
      }
      facets {
        kind {
          value
          count
        }
        industry {
          value
          count
        }
        license {
          value
          count
        }
        verified {
          value
          count
        }
      }
    }
  }
`);

export const MarketReleaseFields = graphql(`
  fragment MarketReleaseFields on MarketRelease {
    id
    listingId
    version
    status
    statusReason
    statusChangedAt
    verified
    publishedBy
    createdAt
    artifactSha256
    artifactSize
    keyId
    signature
    manifest
    manifestFields {
      name
      version
      kind
      yunfab
      license
      permissions
      summary
      description
      industry
      title
      tags
      content
      pricing {
        model
        priceCny
        periodDays
        unit
        included
      }
    }
    countersignatures {
      keyId
      signature
      reviewer
      createdAt
    }
  }
`);

export const MarketListingQuery = graphql(`
  query MarketListing($slug: String!) {
    marketListing(slug: $slug) {
      id
      slug
      kind
      title
      summary
      industry
      tags
      publisherOrganizationId
      latestVersion
      license
      yunfabRange
      verified
      free
      ratingCount
      ratingAverage
      createdAt
      updatedAt
      releases {
        id
        version
        status
        statusReason
        verified
        createdAt
        manifestFields {
          pricing {
            model
          }
        }
      }
      reviews(first: 20) {
        totalCount
        edges {
          node {
            id
            rating
            text
            author
            updatedAt
          }
        }
      }
    }
  }
`);

export const MarketReleaseQuery = graphql(`
  query MarketReleasePage($id: UUID!) {
    marketRelease(id: $id) {
      ...MarketReleaseFields
    }
  }
`);

export const MarketListingByIdQuery = graphql(`
  query MarketListingById($id: UUID!) {
    marketListing(id: $id) {
      id
      slug
      title
      publisherOrganizationId
    }
  }
`);

export const MarketEntitlementsQuery = graphql(`
  query MarketEntitlements($listingId: UUID!) {
    marketEntitlements(listingId: $listingId) {
      id
      kind
      node
      organizationId
      expiresAt
      unit
      limit
      used
      grantedBy
      createdAt
    }
  }
`);

export const MarketGrantEntitlement = graphql(`
  mutation MarketGrantEntitlement($input: GrantEntitlementInput!) {
    grantEntitlement(input: $input) {
      id
    }
  }
`);

export const MarketYankRelease = graphql(`
  mutation MarketYankRelease($id: UUID!, $reason: String!) {
    yankRelease(id: $id, reason: $reason) {
      ...MarketReleaseFields
    }
  }
`);

export const MarketRevokeRelease = graphql(`
  mutation MarketRevokeRelease($id: UUID!, $reason: String!) {
    revokeRelease(id: $id, reason: $reason) {
      ...MarketReleaseFields
    }
  }
`);

export const MarketCountersign = graphql(`
  mutation MarketCountersign($releaseId: UUID!, $keyId: String!, $signature: String!) {
    reviewRelease(releaseId: $releaseId, keyId: $keyId, signature: $signature) {
      ...MarketReleaseFields
    }
  }
`);

export const MarketNodesQuery = graphql(`
  query MarketNodes {
    marketNodes {
      name
      region
      industry
      online
      yunfabVersion
    }
  }
`);

export const MarketInstallationFields = graphql(`
  fragment MarketInstallationFields on MarketInstallation {
    id
    releaseId
    listingId
    node
    status
    pinned
    detail
    config
    createdAt
    updatedAt
    history {
      status
      at
      by
      why
    }
    release {
      id
      version
      status
      manifestFields {
        name
        title
        kind
      }
    }
  }
`);

export const MarketRequestInstallation = graphql(`
  mutation MarketRequestInstallation($node: String!, $releaseId: UUID!, $config: JSON) {
    requestInstallation(node: $node, releaseId: $releaseId, config: $config) {
      ...MarketInstallationFields
    }
  }
`);

export const MarketRemoveInstallation = graphql(`
  mutation MarketRemoveInstallation($id: UUID!) {
    removeInstallation(id: $id) {
      ...MarketInstallationFields
    }
  }
`);

export const MarketInstallationsQuery = graphql(`
  query MarketNodeInstallations(
    $node: String!
    $status: MarketInstallationState
    $first: Int!
    $after: String
  ) {
    marketInstallations(node: $node, status: $status, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...MarketInstallationFields
        }
      }
    }
  }
`);

export const MarketRateListing = graphql(`
  mutation MarketRateListing($listingId: UUID!, $rating: Int!, $text: String!) {
    reviewListing(listingId: $listingId, rating: $rating, text: $text) {
      id
    }
  }
`);

export const MarketKeysQuery = graphql(`
  query MarketKeys {
    marketKeys {
      id
      kind
      keyId
      publicKey
      status
      createdAt
      retiredAt
    }
  }
`);

export const MarketRegisterKey = graphql(`
  mutation MarketRegisterKey($publicKey: String!, $kind: MarketKeyKind!) {
    registerSigningKey(publicKey: $publicKey, kind: $kind) {
      id
      keyId
    }
  }
`);

export const MarketRetireKey = graphql(`
  mutation MarketRetireKey($keyId: String!, $kind: MarketKeyKind!) {
    retireSigningKey(keyId: $keyId, kind: $kind) {
      id
      status
    }
  }
`);

export const MarketPublisherOrgsQuery = graphql(`
  query MarketPublisherOrgs($text: String, $first: Int!, $after: String) {
    organizations(kind: PUBLISHER, text: $text, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          name
          kind
          createdAt
        }
      }
    }
  }
`);

export const MarketPublishersQuery = graphql(`
  query MarketPublishers($ids: [UUID!]!) {
    marketPublishers(organizationIds: $ids) {
      organizationId
      verifiedAt
      verifiedBy
    }
  }
`);

export const MarketVerifyPublisher = graphql(`
  mutation MarketVerifyPublisher($organizationId: UUID!) {
    verifyPublisher(organizationId: $organizationId) {
      organizationId
      verifiedAt
      verifiedBy
    }
  }
`);
