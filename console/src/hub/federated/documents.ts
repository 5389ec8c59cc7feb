import { graphql } from "../../gql/hub";

export const FederatedRunsDocument = graphql(`
  query FederatedRuns($status: FederatedRunStatus, $first: Int!, $after: String) {
    federatedRuns(status: $status, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          label
          strategy
          rounds
          minNodes
          status
          startedBy
          createdAt
          finishedAt
          modelId
          config {
            dpNoiseMultiplier
            secureAggregation
          }
        }
      }
    }
  }
`);

export const StartFederatedRunDocument = graphql(`
  mutation StartFederatedRun($input: FederatedRunInput!) {
    startFederatedRun(input: $input) {
      id
      status
    }
  }
`);

/** Everything the run page shows; the query and the live subscription ask the same. */
export const FederatedRunFields = graphql(`
  fragment FederatedRunFields on FederatedRun {
    id
    label
    strategy
    rounds
    minNodes
    status
    flowerRunId
    error
    startedBy
    createdAt
    finishedAt
    config {
      strategy
      rounds
      minNodes
      proximalMu
      localEpochs
      learningRate
      dpNoiseMultiplier
      dpClippingNorm
      secureAggregation
      secaggClippingRange
      secaggMaxWeight
      roundTimeoutS
      label
    }
    summary {
      statisticsRounds
      seconds
      privacy {
        differentialPrivacy {
          enabled
          mechanism
          noiseMultiplier
          clippingNorm
          noiseStdev
          rounds
          notCovered
        }
        secureAggregation {
          enabled
          protocol
          numShares
          reconstructionThreshold
          rounds
          notCovered
        }
      }
      nodes {
        nodeId
        name
      }
      droppedNodes {
        nodeId
        name
        round
        step
        reason
      }
      perRound {
        round
        steps {
          kind
          seconds
          nodes {
            nodeId
            name
            metrics {
              name
              value
            }
          }
          errors {
            nodeId
            error
          }
          missing
          aggregated {
            name
            value
          }
        }
      }
      final {
        name
        value
      }
    }
    model {
      id
      name
      version
      metrics {
        name
        value
      }
    }
  }
`);

export const FederatedRunDocument = graphql(`
  query FederatedRun($id: UUID!) {
    federatedRun(id: $id) {
      ...FederatedRunFields
    }
  }
`);

export const FederatedRunProgressDocument = graphql(`
  subscription FederatedRunProgress($id: UUID!) {
    federatedRunProgress(id: $id) {
      ...FederatedRunFields
    }
  }
`);

export const GlobalModelsDocument = graphql(`
  query GlobalModels {
    globalModels {
      id
      name
      version
      kind
      createdAt
      metrics {
        name
        value
      }
      lineage {
        runId
        strategy
        rounds
        nodes {
          name
        }
        privacy {
          differentialPrivacy {
            enabled
          }
          secureAggregation {
            enabled
          }
        }
      }
    }
  }
`);

export const GlobalModelDocument = graphql(`
  query GlobalModel($id: UUID!) {
    globalModel(id: $id) {
      id
      name
      version
      kind
      digest
      createdAt
      metrics {
        name
        value
      }
      lineage {
        source
        runId
        flowerRunId
        strategy
        rounds
        minNodes
        nodes {
          nodeId
          name
        }
        parameters {
          localEpochs
          learningRate
          proximalMu
        }
        privacy {
          differentialPrivacy {
            enabled
            mechanism
            noiseMultiplier
            clippingNorm
          }
          secureAggregation {
            enabled
            protocol
            numShares
            reconstructionThreshold
          }
        }
      }
      marketRelease {
        id
        listingSlug
        version
        status
        verified
        createdAt
      }
    }
  }
`);
