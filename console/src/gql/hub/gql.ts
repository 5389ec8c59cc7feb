/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query HubViewer {\n    viewer {\n      kind\n      id\n      name\n      email\n      organizationId\n      organizationKind\n      roles\n      scopes\n      can {\n        readNodes\n        moveNodes\n        readOrganizations\n        createOrganizations\n        readUsers\n        manageUsers\n        createClients\n        rotateKeys\n        revokeTokens\n        readAudit\n        readCatalog\n        publishOffers\n        requestContracts\n        decideContracts\n        readContracts\n        queryData\n        readBoard\n        postToBoard\n        readMarket\n        publishReleases\n        manageMarketKeys\n        reviewReleases\n        grantEntitlements\n        installToNodes\n        readFederated\n        runFederated\n        readModels\n      }\n    }\n  }\n": typeof types.HubViewerDocument,
};
const documents: Documents = {
    "\n  query HubViewer {\n    viewer {\n      kind\n      id\n      name\n      email\n      organizationId\n      organizationKind\n      roles\n      scopes\n      can {\n        readNodes\n        moveNodes\n        readOrganizations\n        createOrganizations\n        readUsers\n        manageUsers\n        createClients\n        rotateKeys\n        revokeTokens\n        readAudit\n        readCatalog\n        publishOffers\n        requestContracts\n        decideContracts\n        readContracts\n        queryData\n        readBoard\n        postToBoard\n        readMarket\n        publishReleases\n        manageMarketKeys\n        reviewReleases\n        grantEntitlements\n        installToNodes\n        readFederated\n        runFederated\n        readModels\n      }\n    }\n  }\n": types.HubViewerDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query HubViewer {\n    viewer {\n      kind\n      id\n      name\n      email\n      organizationId\n      organizationKind\n      roles\n      scopes\n      can {\n        readNodes\n        moveNodes\n        readOrganizations\n        createOrganizations\n        readUsers\n        manageUsers\n        createClients\n        rotateKeys\n        revokeTokens\n        readAudit\n        readCatalog\n        publishOffers\n        requestContracts\n        decideContracts\n        readContracts\n        queryData\n        readBoard\n        postToBoard\n        readMarket\n        publishReleases\n        manageMarketKeys\n        reviewReleases\n        grantEntitlements\n        installToNodes\n        readFederated\n        runFederated\n        readModels\n      }\n    }\n  }\n"): (typeof documents)["\n  query HubViewer {\n    viewer {\n      kind\n      id\n      name\n      email\n      organizationId\n      organizationKind\n      roles\n      scopes\n      can {\n        readNodes\n        moveNodes\n        readOrganizations\n        createOrganizations\n        readUsers\n        manageUsers\n        createClients\n        rotateKeys\n        revokeTokens\n        readAudit\n        readCatalog\n        publishOffers\n        requestContracts\n        decideContracts\n        readContracts\n        queryData\n        readBoard\n        postToBoard\n        readMarket\n        publishReleases\n        manageMarketKeys\n        reviewReleases\n        grantEntitlements\n        installToNodes\n        readFederated\n        runFederated\n        readModels\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;