import { graphql } from "../../gql/hub";

export const CatalogDocument = graphql(`
  query ExchangeCatalog(
    $search: String
    $industry: String
    $region: String
    $field: String
    $first: Int!
    $after: String
  ) {
    dataProducts(
      search: $search
      industry: $industry
      region: $region
      field: $field
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
          id
          key
          title
          description
          region
          industry
          node
          updateFrequency
          rowCount
          dataUpdatedAt
          schema {
            name
          }
          offers {
            id
            policy {
              approval
              aggregation {
                minContributors
              }
            }
          }
        }
      }
    }
    dataCatalogFacets(search: $search, industry: $industry, region: $region, field: $field) {
      industry {
        value
        count
      }
      region {
        value
        count
      }
      fields {
        value
        count
      }
    }
  }
`);

export const ProductDocument = graphql(`
  query ExchangeProduct($id: UUID!) {
    dataProduct(id: $id) {
      id
      key
      title
      description
      publisherOrganizationId
      node
      region
      industry
      updateFrequency
      live
      rowCount
      syncSeq
      dataUpdatedAt
      createdAt
      schema {
        name
        type
        role
        description
      }
      sample
      offers {
        id
        policyHash
        createdAt
        policy {
          consumers {
            organizations
            kinds
          }
          purposes
          regions
          fields
          aggregation {
            minContributors
          }
          retentionDays
          contractDays
          expiresAt
          onwardSharing
          freshData
          approval
        }
      }
    }
  }
`);

export const RequestContractDocument = graphql(`
  mutation ExchangeRequestContract($input: ContractRequestInput!) {
    requestDataContract(input: $input) {
      id
      status
      termsHash
    }
  }
`);

export const ContractsDocument = graphql(`
  query ExchangeContracts(
    $role: ContractRole
    $status: ContractState
    $productId: UUID
    $first: Int!
    $after: String
  ) {
    dataContracts(
      role: $role
      status: $status
      productId: $productId
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
          id
          status
          purpose
          consumerOrganizationId
          providerOrganizationId
          termsHash
          createdAt
          expiresAt
          request {
            fields
            regions
          }
          product {
            id
            key
            title
          }
        }
      }
    }
  }
`);

export const ContractDocument = graphql(`
  query ExchangeContract($id: UUID!) {
    dataContract(id: $id) {
      id
      offerId
      productId
      status
      purpose
      consumerOrganizationId
      providerOrganizationId
      termsHash
      termsJson
      createdAt
      finalizedAt
      expiresAt
      terminatedAt
      terminationReason
      request {
        purpose
        fields
        regions
      }
      terms {
        purpose
        fields
        regions
        aggregation {
          minContributors
        }
        retentionDays
        contractDays
        onwardSharing
        freshData
        expiresAt
        offerHash
      }
      history {
        status
        at
        by
        note
      }
      product {
        id
        key
        title
        schema {
          name
          type
          role
          description
        }
      }
    }
  }
`);

export const OfferContractDocument = graphql(`
  mutation ExchangeOfferContract($id: UUID!) {
    offerDataContract(id: $id) {
      id
      status
      termsHash
    }
  }
`);

export const AgreeContractDocument = graphql(`
  mutation ExchangeAgreeContract($id: UUID!) {
    agreeDataContract(id: $id) {
      id
      status
      termsHash
    }
  }
`);

export const FinalizeContractDocument = graphql(`
  mutation ExchangeFinalizeContract($id: UUID!) {
    finalizeDataContract(id: $id) {
      id
      status
      termsHash
      expiresAt
    }
  }
`);

export const TerminateContractDocument = graphql(`
  mutation ExchangeTerminateContract($id: UUID!, $reason: String!) {
    terminateDataContract(id: $id, reason: $reason) {
      id
      status
      terminationReason
    }
  }
`);

export const GovernedDataDocument = graphql(`
  query ExchangeGovernedData($contractId: UUID!, $query: DataQueryInput!) {
    governedData(contractId: $contractId, query: $query) {
      columns
      rows
      totalCount
      minContributors
      termsHash
      retainUntil
      hasNextPage
    }
  }
`);
