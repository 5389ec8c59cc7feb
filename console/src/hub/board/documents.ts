import { graphql } from "../../gql/hub";

export const PostingFields = graphql(`
  fragment BoardPostingFields on BoardPosting {
    id
    organizationId
    organizationName
    side
    resource
    item
    quantity
    unit
    availableFrom
    availableTo
    latitude
    longitude
    region
    city
    maxDistanceKm
    note
    status
    createdAt
    closedAt
  }
`);

export const BoardQuery = graphql(`
  query HubBoard(
    $side: BoardSide
    $resource: BoardResource
    $item: String
    $region: String
    $includeClosed: Boolean!
    $organizationId: UUID
    $first: Int!
    $after: String
  ) {
    supplyDemandBoard(
      side: $side
      resource: $resource
      item: $item
      region: $region
      includeClosed: $includeClosed
      organizationId: $organizationId
      first: $first
      after: $after
    ) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...BoardPostingFields
        }
      }
    }
  }
`);

export const PostingQuery = graphql(`
  query HubBoardPosting($id: UUID!) {
    supplyDemandPosting(id: $id) {
      ...BoardPostingFields
    }
  }
`);

export const MatchesQuery = graphql(`
  query HubBoardMatches(
    $postingId: UUID!
    $maxDistanceKm: Float
    $minCoverage: Float
    $first: Int!
    $after: String
  ) {
    supplyDemandMatches(
      postingId: $postingId
      maxDistanceKm: $maxDistanceKm
      minCoverage: $minCoverage
      first: $first
      after: $after
    ) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          distanceKm
          overlapDays
          matchableQuantity
          coverage
          posting {
            ...BoardPostingFields
          }
        }
      }
    }
  }
`);

export const PostMutation = graphql(`
  mutation HubBoardPost($input: PostSupplyDemandInput!) {
    postSupplyDemand(input: $input) {
      ...BoardPostingFields
    }
  }
`);

export const CloseMutation = graphql(`
  mutation HubBoardClose($id: UUID!, $status: BoardClosing!) {
    closePosting(id: $id, status: $status) {
      ...BoardPostingFields
    }
  }
`);
