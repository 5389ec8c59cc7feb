import { graphql } from "../../gql/hub";

export const PeopleOrganizationFields = graphql(`
  fragment PeopleOrganizationFields on Organization {
    id
    name
    kind
    createdAt
  }
`);

export const PeopleOrganizationsQuery = graphql(`
  query PeopleOrganizations($first: Int!, $after: String, $kind: OrganizationKind, $text: String) {
    organizations(first: $first, after: $after, kind: $kind, text: $text) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...PeopleOrganizationFields
        }
      }
    }
  }
`);

export const PeopleOrganizationQuery = graphql(`
  query PeopleOrganization($id: UUID!) {
    organization(id: $id) {
      ...PeopleOrganizationFields
    }
  }
`);

export const PeopleCreateOrganization = graphql(`
  mutation PeopleCreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      ...PeopleOrganizationFields
    }
  }
`);

export const PeopleUserFields = graphql(`
  fragment PeopleUserFields on User {
    id
    email
    name
    organizationId
    organization {
      id
      name
    }
    roles
    createdAt
    disabledAt
  }
`);

export const PeopleUsersQuery = graphql(`
  query PeopleUsers($first: Int!, $after: String, $filter: UserFilter) {
    users(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...PeopleUserFields
        }
      }
    }
  }
`);

export const PeopleCreateUser = graphql(`
  mutation PeopleCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      oneTimePassword
      user {
        ...PeopleUserFields
      }
    }
  }
`);

export const PeopleUpdateUser = graphql(`
  mutation PeopleUpdateUser($id: UUID!, $input: UpdateUserInput!) {
    updateUser(id: $id, input: $input) {
      ...PeopleUserFields
    }
  }
`);

export const PeopleResetPassword = graphql(`
  mutation PeopleResetPassword($id: UUID!) {
    resetUserPassword(id: $id) {
      oneTimePassword
      user {
        ...PeopleUserFields
      }
    }
  }
`);

export const PeopleDisableUser = graphql(`
  mutation PeopleDisableUser($id: UUID!) {
    disableUser(id: $id) {
      ...PeopleUserFields
    }
  }
`);

export const PeopleEnableUser = graphql(`
  mutation PeopleEnableUser($id: UUID!) {
    enableUser(id: $id) {
      ...PeopleUserFields
    }
  }
`);

export const PeopleRevokeSessions = graphql(`
  mutation PeopleRevokeSessions($id: UUID!) {
    revokeUserSessions(id: $id) {
      sessions
      refreshTokens
    }
  }
`);

export const PeopleClientFields = graphql(`
  fragment PeopleClientFields on ApiClient {
    id
    clientId
    name
    organizationId
    organization {
      id
      name
    }
    kind
    scopes
    redirectUris
    nodeName
    region
    public
    createdAt
    disabledAt
  }
`);

export const PeopleClientsQuery = graphql(`
  query PeopleClients($first: Int!, $after: String, $filter: ApiClientFilter) {
    apiClients(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...PeopleClientFields
        }
      }
    }
  }
`);

export const PeopleScopesQuery = graphql(`
  query PeopleScopes {
    oauthScopes {
      name
      description
    }
  }
`);

export const PeopleCreateClient = graphql(`
  mutation PeopleCreateClient($input: CreateApiClientInput!) {
    createApiClient(input: $input) {
      secret
      client {
        ...PeopleClientFields
      }
    }
  }
`);

export const PeopleRotateClientSecret = graphql(`
  mutation PeopleRotateClientSecret($id: UUID!) {
    rotateApiClientSecret(id: $id) {
      secret
      client {
        ...PeopleClientFields
      }
    }
  }
`);

export const PeopleDisableClient = graphql(`
  mutation PeopleDisableClient($id: UUID!) {
    disableApiClient(id: $id) {
      ...PeopleClientFields
    }
  }
`);

export const PeopleEnableClient = graphql(`
  mutation PeopleEnableClient($id: UUID!) {
    enableApiClient(id: $id) {
      ...PeopleClientFields
    }
  }
`);

export const PeopleSigningKeysQuery = graphql(`
  query PeopleSigningKeys {
    signingKeys {
      kid
      algorithm
      status
      encrypted
      createdAt
      rotatedAt
    }
  }
`);

export const PeopleRotateSigningKey = graphql(`
  mutation PeopleRotateSigningKey {
    rotateSigningKey {
      kid
      status
    }
  }
`);

export const PeopleRevokedTokensQuery = graphql(`
  query PeopleRevokedTokens($first: Int!, $after: String, $includeExpired: Boolean!) {
    revokedTokens(first: $first, after: $after, includeExpired: $includeExpired) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          seq
          jti
          clientId
          revokedAt
          expiresAt
        }
      }
    }
  }
`);

export const PeopleAuditLogQuery = graphql(`
  query PeopleAuditLog(
    $first: Int!
    $after: String
    $action: String
    $actor: String
    $since: DateTime
    $until: DateTime
  ) {
    auditLog(
      first: $first
      after: $after
      action: $action
      actor: $actor
      since: $since
      until: $until
    ) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          seq
          at
          actor
          actorOrg
          action
          resource
          outcome
          detail
          hash
          prevHash
        }
      }
    }
  }
`);

export const PeopleVerifyAuditChain = graphql(`
  query PeopleVerifyAuditChain {
    auditChainVerification {
      ok
      checked
      problem
      seq
      verifiedAt
    }
  }
`);
