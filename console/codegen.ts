import type { CodegenConfig } from "@graphql-codegen/cli";

// Types and typed documents come from the committed schemas, never written by hand.
// `npm run codegen:check` fails when src/gql/ no longer matches them.
const clientPreset = {
  preset: "client",
  presetConfig: { fragmentMasking: false },
  config: {
    useTypeImports: true,
    enumsAsTypes: true,
    scalars: {
      UUID: "string",
      DateTime: "string",
      Date: "string",
      Time: "string",
      JSON: "unknown",
    },
  },
} as const;

const config: CodegenConfig = {
  overwrite: true,
  ignoreNoDocuments: true,
  generates: {
    "src/gql/node/": {
      schema: "../regional_node/graphql/schema.graphql",
      documents: ["src/node/**/*.{ts,tsx}", "src/app/**/*.{ts,tsx}", "src/auth/**/*.{ts,tsx}"],
      ...clientPreset,
    },
    // The hub's pages get their own generated module from the hub's schema.
    "src/gql/hub/": {
      schema: "../hub/graphql/schema.graphql",
      documents: ["src/hub/**/*.{ts,tsx}"],
      ...clientPreset,
    },
  },
};

export default config;
