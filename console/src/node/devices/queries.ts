import { graphql } from "../../gql/node";

export const DevicesListQuery = graphql(`
  query DevicesList(
    $factoryId: UUID
    $status: DeviceStatus
    $type: String
    $search: String
    $first: Int!
    $after: String
  ) {
    devices(
      factoryId: $factoryId
      status: $status
      type: $type
      search: $search
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
          name
          type
          kind
          status
          connection
          factoryId
          lastSeenAt
        }
      }
    }
  }
`);

export const DeviceFactoriesQuery = graphql(`
  query DeviceFactories {
    factories(first: 100) {
      edges {
        node {
          id
          slug
          name
          status
        }
      }
    }
  }
`);

export const OnlineWindowQuery = graphql(`
  query DevicesOnlineWindow {
    overview {
      devices {
        windowS
      }
    }
  }
`);

export const DeviceQuery = graphql(`
  query DeviceDetail($id: UUID!) {
    device(id: $id) {
      id
      key
      name
      type
      kind
      status
      connection
      factoryId
      lastSeenAt
      createdAt
      statusChangedAt
      telemetryTopic
      metrics {
        name
        unit
        minValue
        maxValue
      }
      latest {
        metric
        unit
        at
        value
      }
    }
  }
`);

export const TelemetryQuery = graphql(`
  query DeviceTelemetry(
    $deviceId: UUID!
    $metric: String!
    $start: DateTime!
    $end: DateTime!
    $resolution: TelemetryResolution!
    $limit: Int!
  ) {
    telemetry(
      deviceId: $deviceId
      metric: $metric
      start: $start
      end: $end
      resolution: $resolution
      limit: $limit
    ) {
      metric
      unit
      resolution
      points {
        at
        value
        count
        min
        max
      }
    }
  }
`);

export const TelemetrySubscription = graphql(`
  subscription DeviceTelemetryLive($deviceId: UUID!, $since: DateTime) {
    deviceTelemetry(deviceId: $deviceId, since: $since) {
      deviceId
      readings {
        metric
        at
        value
      }
    }
  }
`);

export const ProvisionDeviceMutation = graphql(`
  mutation ProvisionDevice($input: ProvisionDeviceInput!) {
    provisionDevice(input: $input) {
      username
      password
      device {
        id
        key
        telemetryTopic
      }
    }
  }
`);

export const RotateCredentialsMutation = graphql(`
  mutation RotateDeviceCredentials($deviceId: UUID!) {
    rotateDeviceCredentials(deviceId: $deviceId) {
      username
      password
      device {
        id
        key
        telemetryTopic
      }
    }
  }
`);

export const ChangeStatusMutation = graphql(`
  mutation ChangeDeviceStatus($deviceId: UUID!, $transition: DeviceTransition!, $reason: String) {
    changeDeviceStatus(deviceId: $deviceId, transition: $transition, reason: $reason) {
      id
      status
      statusChangedAt
      connection
    }
  }
`);

export const DeadLettersQuery = graphql(`
  query DeadLetters(
    $reason: String
    $deviceKey: String
    $source: String
    $first: Int!
    $after: String
  ) {
    deadLetters(reason: $reason, deviceKey: $deviceKey, source: $source, first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          receivedAt
          source
          topic
          deviceKey
          reason
          detail
          payloadBase64
          payloadSize
        }
      }
    }
  }
`);

export const GatewayStatusQuery = graphql(`
  query GatewayStatus($deviceId: UUID!) {
    gatewayStatus(deviceId: $deviceId) {
      deviceId
      connection
      lastSeenAt
      reportedAt
      gatewayAt
      mqttConnected
      mqttLastError
      journalRows
      journalBytes
      journalDropped
      valuesRefused
      readErrors
      configVersion
      configLatest
      configRefusedVersion
      configRefusedError
      connectors {
        name
        up
        lastError
      }
      points {
        connector
        deviceKey
        metric
        unit
        source
        lastValue
        lastAt
        lastError
        lastErrorAt
        failing
        reads
        errors
        refused
      }
    }
  }
`);

export const CreateClaimCodeMutation = graphql(`
  mutation CreateGatewayClaimCode($input: CreateGatewayClaimCodeInput!) {
    createGatewayClaimCode(input: $input) {
      __typename
      ... on CreateGatewayClaimCodeSuccess {
        code
        edgeNodeKey
        expiresAt
        claimCommand
      }
      ... on CreateGatewayClaimCodeError {
        code
        message
      }
    }
  }
`);

export const PushGatewayConfigMutation = graphql(`
  mutation PushGatewayConfig($input: PushGatewayConfigInput!) {
    pushGatewayConfig(input: $input) {
      __typename
      ... on PushGatewayConfigSuccess {
        version
        createdAt
      }
      ... on PushGatewayConfigError {
        code
        message
      }
    }
  }
`);
